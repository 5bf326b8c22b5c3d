// The patient-list progress page and a plan's "sending" page without reloading: asks how it stands every second and
// a half and, when it has ended, shows the result. Optional: without script, the page's link does the same.
"use strict";
(function () {
  const status = document.getElementById("progress-status");
  const bar = document.getElementById("progress-bar");
  if (!status) {
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
      if (progress.state !== "running" && progress.state !== "sending") {
        window.location.reload();
        return;
      }
      if (bar) {
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
