// Evaluation pages. /evaluations: choosing an experiment reloads the form with its dataset
// versions (?experiment=NAME, so the choice is a link too); each unfinished evaluate job is polled
// (GET /evaluations/jobs/ID) until it ends, its state, time, log tail and result links updated in
// place. An evaluation's page: the error browser is plain links and a GET form (linkable, the back
// button works); arriving at #errors moves the keyboard focus there.
(function () {
  "use strict";

  function wireExperimentChoice() {
    const select = document.querySelector("select[data-reload]");
    if (!select) return;
    select.addEventListener("change", () => {
      window.location.assign(select.dataset.reload + encodeURIComponent(select.value) + "#run");
    });
  }

  function setText(card, field, text) {
    const el = card.querySelector('[data-field="' + field + '"]');
    if (!el) return null;
    el.textContent = text || "";
    if (el.tagName === "PRE") el.hidden = !text;
    return el;
  }

  function showJob(card, job) {
    const state = card.querySelector('[data-field="state"]');
    state.textContent = job.state;
    state.className = "status status-" + job.state;
    setText(card, "seconds", job.seconds === null ? "waiting to start" : critic.fmt.secs(job.seconds));
    setText(card, "log", job.log);
    setText(card, "error", job.state === "failed" ? job.error : "");
    const results = card.querySelector('[data-field="results"]');
    if (job.results.length && !results.children.length) {
      job.results.forEach((r) => {
        const a = document.createElement("a");
        a.href = r.url;
        a.textContent = "Open the " + r.subset + " evaluation";
        results.appendChild(a);
      });
    }
    if (job.finished) {
      card.dataset.finished = "yes";
      const bar = card.querySelector("progress");
      if (bar) bar.remove();
    }
  }

  function watchJobs() {
    document.querySelectorAll('[data-job][data-finished="no"]').forEach((card) => {
      const url = "/evaluations/jobs/" + encodeURIComponent(card.dataset.job);
      const alert = document.createElement("p");
      alert.hidden = true;
      alert.className = "error";
      card.appendChild(alert);
      critic.poll(async () => {
        try {
          const job = await critic.api("GET", url);
          critic.clearError(alert);
          showJob(card, job);
          return !job.finished;
        } catch (failure) {
          critic.showError(alert, failure);
          return failure.status === 0 || failure.status >= 500; // a lost connection: keep trying
        }
      }, 1000);
    });
  }

  function focusErrors() {
    if (window.location.hash !== "#errors") return;
    const section = document.getElementById("errors");
    if (section) section.focus({ preventScroll: false });
  }

  document.addEventListener("DOMContentLoaded", () => {
    wireExperimentChoice();
    watchJobs();
    focusErrors();
  });
})();
