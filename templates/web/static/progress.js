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
      const response = await fetch(status.dataset.progressUrl, { cache: "no-store", credentials: "same-origin", redirect: "manual" });
      const json = (response.headers.get("content-type") || "").startsWith("application/json");
      if (response.status === 404 || response.type === "opaqueredirect" || (response.ok && !json)) {
        // The list is gone (expired, server restarted) or the sign-in has ended: the page itself says so.
        window.location.reload();
        return;
      }
      if (!response.ok) {
        throw new Error("no progress this time"); // a passing server error: ask again at the next tick
      }
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
    } catch (error) {
      // The link still works; try again at the next tick.
    }
    window.setTimeout(poll, 1500);
  }
  window.setTimeout(poll, 1500);
})();
