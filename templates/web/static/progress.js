// The patient-list progress page without reloading: asks for the counts every second and a half and, when the
// run has ended, shows its results. Optional: without script, the page's "Check progress" link does the same.
"use strict";
(function () {
  const status = document.getElementById("progress-status");
  const bar = document.getElementById("progress-bar");
  if (!status || !bar) {
    return;
  }
  async function poll() {
    try {
      const response = await fetch(status.dataset.progressUrl, { cache: "no-store", credentials: "same-origin" });
      if (response.ok) {
        const progress = await response.json();
        if (progress.state !== "running") {
          window.location.reload();
          return;
        }
        bar.max = progress.total || 1;
        bar.value = progress.done;
        const text = progress.done + " of " + progress.total + " plans made.";
        if (status.textContent !== text) {
          status.textContent = text;
        }
      }
    } catch (error) {
      // The link still works; try again at the next tick.
    }
    window.setTimeout(poll, 1500);
  }
  window.setTimeout(poll, 1500);
})();
