// autoreduce admin page: keeps the daemons and the queued/running jobs tables current. Each is an
// htmx fragment (`data-refresh="daemon"` / `"job"`) that also re-reads itself every few seconds;
// this script re-reads it as soon as the change feed says something changed (app.js turns the
// server-sent events into `autoreduce:daemon` and `autoreduce:job` DOM events). Without
// JavaScript the page is the same, as of when it was loaded.
(() => {
  /** Re-reads the fragments of one kind, at most once per `wait` ms (a burst of events is one read). */
  function refresher(kind, wait) {
    let timer = null;
    return () => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        if (!window.htmx) return;
        for (const el of document.querySelectorAll(`[data-refresh="${kind}"]`))
          window.htmx.trigger(el, "refresh");
      }, wait);
    };
  }
  const daemons = refresher("daemon", 300);
  const jobs = refresher("job", 1000);
  document.addEventListener("autoreduce:daemon", daemons);
  document.addEventListener("autoreduce:job", jobs);
  // Events were missed: re-read both.
  document.addEventListener("autoreduce:resync", () => {
    daemons();
    jobs();
  });
})();
