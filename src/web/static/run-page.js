// autoreduce: the run page's behaviour (progressive enhancement; the page reads fully without it).
// - When a job of this run changes (a new version, the shown one finishing), the versions table,
//   the shown version's outcome (status, message, files), the run's facts, the actions, the
//   timeline and the plots are fetched again and swapped in.
// - While the shown version runs, its logs are followed live over server-sent events, with a
//   "follow the end" toggle.
// Everything inserted is either server-rendered HTML from this site or text (never parsed as HTML).
(() => {
  const root = document.querySelector("[data-run-page]");
  if (!root) return;
  const base = root.getAttribute("data-run-page");
  const selected = root.getAttribute("data-selected-version");
  const [instrument, run] = base.split("/").slice(-2);
  /** A log view keeps at most this many characters (the start is dropped). */
  const MAX_LOG_CHARS = 2_000_000;

  let loading = false;
  let again = false;
  /** Fetches the changing parts and swaps each element whose id matches. One fetch at a time. */
  function refresh() {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    fetch(`${base}/fragment/versions?version=${encodeURIComponent(selected)}`, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.text() : null))
      .then((html) => {
        if (html === null) return;
        const template = document.createElement("template");
        template.innerHTML = html;
        for (const id of ["versions", "outcome", "run-facts", "actions", "timeline", "plots"]) {
          const fresh = template.content.getElementById(id);
          const old = document.getElementById(id);
          if (fresh && old) old.replaceWith(fresh);
        }
      })
      .catch(() => {})
      .finally(() => {
        loading = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  document.addEventListener("autoreduce:job", (e) => {
    const job = e.detail || {};
    if (String(job.instrument).toUpperCase() === instrument.toUpperCase() && String(job.run_number) === run)
      refresh();
  });
  document.addEventListener("autoreduce:resync", refresh);

  /** Follows one log: appends what the server sends, keeps the end in view while the toggle is on. */
  function follow(pre) {
    if (!window.EventSource) return;
    const url = new URL(pre.getAttribute("data-log-stream"), window.location.href);
    url.searchParams.set("from", pre.getAttribute("data-log-offset") || "0");
    const toggle = document.querySelector(`[data-follow="${CSS.escape(pre.id)}"]`);
    const label = toggle ? toggle.closest("label") : null;
    if (label) label.hidden = false;
    const empty = document.querySelector(`[data-log-empty="${CSS.escape(pre.id)}"]`);
    const keepEnd = () => {
      if (!toggle || toggle.checked) pre.scrollTop = pre.scrollHeight;
    };
    const add = (text) => {
      pre.hidden = false;
      if (empty) empty.hidden = true;
      pre.append(text);
      if (pre.textContent.length > MAX_LOG_CHARS) pre.textContent = pre.textContent.slice(-MAX_LOG_CHARS / 2);
      keepEnd();
    };
    const source = new EventSource(url);
    source.addEventListener("append", (e) => add(JSON.parse(e.data)));
    source.addEventListener("reset", () => {
      pre.textContent = "";
    });
    source.addEventListener("skipped", (e) => {
      const { bytes } = JSON.parse(e.data);
      add(`\n[… ${bytes} bytes not shown: open the whole log …]\n`);
    });
    source.addEventListener("end", () => {
      source.close();
      if (label) label.hidden = true;
      refresh();
    });
    keepEnd();
  }

  for (const pre of document.querySelectorAll("pre[data-log-stream]")) follow(pre);
})();
