// autoreduce: the pages' behaviour. Every page works without this file (it is progressive
// enhancement); with it, statuses update live over server-sent events and small helpers run.
// No inline script exists on any page: the CSP allows scripts from this site only.
(() => {
  /** Updates every status badge of a run (`[data-run="INST/RUN"] [data-status]`) from a job event. */
  function applyJobEvent(event) {
    const key = `${event.instrument}/${event.run_number}`;
    for (const row of document.querySelectorAll(`[data-run="${CSS.escape(key)}"]`)) {
      const shownVersion = Number(row.getAttribute("data-version") ?? "-1");
      if (event.version !== undefined && event.version < shownVersion) continue;
      row.setAttribute("data-version", String(event.version));
      for (const badge of row.querySelectorAll("[data-status]")) {
        badge.textContent = event.status;
        badge.setAttribute("data-status", event.status);
        badge.className = `status status-${event.status}`;
      }
    }
    document.dispatchEvent(new CustomEvent("autoreduce:job", { detail: event }));
  }

  function connectLive() {
    const url = document.body.getAttribute("data-live");
    if (!url || !window.EventSource) return;
    const state = document.querySelector("[data-live-state]");
    const show = (s, text) => {
      if (!state) return;
      state.setAttribute("data-live-state", s);
      state.textContent = text;
    };
    const source = new EventSource(url);
    source.addEventListener("open", () => show("open", "live updates: on"));
    source.addEventListener("error", () => show("closed", "live updates: reconnecting…"));
    source.addEventListener("job", (e) => applyJobEvent(JSON.parse(e.data)));
    source.addEventListener("daemon", (e) =>
      document.dispatchEvent(new CustomEvent("autoreduce:daemon", { detail: JSON.parse(e.data) })),
    );
    // Events were missed (the feed had a gap): re-read what the page shows.
    source.addEventListener("resync", () => document.dispatchEvent(new CustomEvent("autoreduce:resync")));
  }

  /** htmx requests carry the session's CSRF token. */
  document.addEventListener("htmx:configRequest", (e) => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) e.detail.headers["X-CSRF-Token"] = meta.getAttribute("content");
  });

  /** `<button data-confirm="...">`: asks before submitting. */
  document.addEventListener("click", (e) => {
    const target = e.target instanceof Element ? e.target.closest("[data-confirm]") : null;
    if (target && !window.confirm(target.getAttribute("data-confirm"))) e.preventDefault();
  });

  window.autoreduce = { applyJobEvent };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", connectLive);
  else connectLive();
})();
