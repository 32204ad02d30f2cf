// autoreduce: the runs index. app.js updates the status of the runs shown; this file counts new
// runs that match the page's filters and offers to show them ("3 new runs — show"), on the first
// page of the newest-first list only, and shows why a filter cannot be used when htmx asked.
// The page works without it.
(() => {
  const counted = new Set();

  /** Does a job event's run belong in the list as filtered (what can be told from the event)? */
  function matches(section, job) {
    const instrument = section.getAttribute("data-filter-instrument");
    if (instrument && instrument !== job.instrument) return false;
    const experiment = section.getAttribute("data-filter-experiment");
    if (experiment && job.experiment && experiment.toUpperCase() !== String(job.experiment).toUpperCase())
      return false;
    const status = section.getAttribute("data-filter-status");
    return !status || status === job.status;
  }

  document.addEventListener("autoreduce:job", (e) => {
    const section = document.getElementById("runs-results");
    const job = e.detail;
    // A new run is its first version (0); later versions are re-runs of runs already listed.
    if (section?.getAttribute("data-new-runs") !== "1" || job?.version !== 0) return;
    const key = `${job.instrument}/${job.run_number}`;
    if (section.querySelector(`[data-run="${CSS.escape(key)}"]`) || !matches(section, job)) return;
    counted.add(key);
    const notice = section.querySelector("[data-new-runs-notice]");
    const link = notice?.querySelector("a");
    if (!notice || !link) return;
    link.textContent = `${counted.size} new run${counted.size === 1 ? "" : "s"} — show`;
    notice.hidden = false;
  });

  // The filters as a short address to share: fields left empty (and the default sort) are left out.
  document.addEventListener("htmx:configRequest", (e) => {
    if (!(e.detail.elt instanceof Element) || !e.detail.elt.matches("form.runs-filters")) return;
    const params = e.detail.parameters;
    for (const [name, value] of Array.from(params.entries()))
      if (value === "" || (name === "sort" && value === "newest")) params.delete(name);
  });

  // A filter that cannot be used is answered 400 with the reasons in the results: show them.
  document.addEventListener("htmx:beforeSwap", (e) => {
    if (e.detail.xhr.status === 400 && e.detail.target?.id === "runs-results") {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });

  // htmx replaced the results (the filters changed): count again from nothing.
  document.addEventListener("htmx:afterSwap", () => counted.clear());
})();
