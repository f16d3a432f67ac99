// Evaluation pages. /evaluations: choosing an experiment reloads the form with its dataset
// versions (?experiment=NAME, so the choice is a link too); each unfinished evaluate job is polled
// (GET /evaluations/jobs/ID) until it ends, its state, time, log tail and result links updated in
// place. An evaluation's page: the error browser is plain links and a GET form (linkable, the back
// button works, and it all works without this script); with it, following one of those links
// (a matrix cell, a class, a page, Clear) or filtering fetches the same page and swaps in its
// error browser and matrix without a reload, the URL pushed to the history so Back undoes it.
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
      card.querySelectorAll("progress, [data-cancel]").forEach((el) => el.remove());
    }
  }

  function wireCancel(card, url, alert) {
    const button = card.querySelector("[data-cancel]");
    if (!button) return;
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        showJob(card, await critic.api("POST", url + "/cancel"));
      } catch (failure) {
        critic.showError(alert, failure);
        button.disabled = false;
      }
    });
  }

  function watchJobs() {
    document.querySelectorAll('[data-job][data-finished="no"]').forEach((card) => {
      const url = "/evaluations/jobs/" + encodeURIComponent(card.dataset.job);
      const alert = document.createElement("p");
      alert.hidden = true;
      alert.className = "error";
      card.appendChild(alert);
      wireCancel(card, url, alert);
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

  const SWAPPED = ["confusion", "errors"]; // the parts of an evaluation's page a filter changes

  async function showErrors(url, push) {
    const current = document.getElementById("errors");
    current.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      SWAPPED.forEach((id) => {
        const now = document.getElementById(id), next = fresh.getElementById(id);
        if (now && next) now.replaceWith(document.importNode(next, true));
      });
      if (push) history.pushState({ errors: true }, "", url);
      document.querySelectorAll(".ev-why-pick").forEach((label) => { label.hidden = false; });
      const section = document.getElementById("errors");
      section.focus({ preventScroll: true });
      section.scrollIntoView({ block: "start" });
    } catch (err) {
      window.location.assign(url); // the page itself says what went wrong, in words
    }
  }

  function ours(url) {
    return url.origin === location.origin && url.pathname === location.pathname && url.hash === "#errors";
  }

  function wireErrorBrowser() {
    if (!document.getElementById("errors-filter")) return;
    document.addEventListener("click", (event) => {
      const a = event.target.closest("a[href]");
      if (!a || event.defaultPrevented || event.button !== 0) return;
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return; // a new tab
      const url = new URL(a.href, location.href);
      if (!ours(url)) return;
      event.preventDefault();
      showErrors(url.href, true);
    });
    document.addEventListener("submit", (event) => {
      const form = event.target;
      if (form.id !== "errors-filter") return;
      event.preventDefault();
      const url = new URL(form.action, location.href);
      const params = new URLSearchParams(new FormData(form));
      [...params.keys()].forEach((key) => {
        const value = params.get(key);
        if (value === "" || (key === "order" && value === "desc")) params.delete(key);
      });
      url.search = params.toString();
      url.hash = "errors";
      showErrors(url.href, true);
    });
    window.addEventListener("popstate", () => showErrors(location.href, false));
  }

  // the class picker of an explained mistake: GET …/why?row=N&target=CLASS explains it again
  // for that class; its text is shaded anew (the same classes as the page's own shading)
  function shade(into, pieces) {
    into.textContent = "";
    pieces.forEach((p) => {
      let node;
      if (!p.seen) {
        node = document.createElement("span");
        node.className = "xp-unseen";
        node.textContent = p.text;
      } else if (p.level) {
        node = document.createElement("mark");
        node.className = "xp-word xp-" + (p.level > 0 ? "p" : "n") + Math.abs(p.level);
        node.title = (p.score >= 0 ? "+" : "") + p.score.toFixed(4);
        node.textContent = p.text;
      } else {
        node = document.createTextNode(p.text);
      }
      into.appendChild(node);
    });
  }

  function showTop(into, top) {
    into.textContent = "";
    top.forEach((s, i) => {
      const span = document.createElement("span");
      span.className = s.score > 0 ? "xp-for" : "xp-against";
      span.textContent = s.word + " " + (s.score >= 0 ? "+" : "") + s.score.toFixed(2);
      into.appendChild(span);
      if (i < top.length - 1) into.appendChild(document.createTextNode(", "));
    });
  }

  async function explainFor(select) {
    const row = select.closest("tr"), why = select.closest(".ev-why");
    const target = why.querySelector(".ev-why-target");
    select.disabled = true;
    target.textContent = "explaining " + select.value + "…";
    try {
      const url = location.pathname + "/why?" + new URLSearchParams({ row: select.dataset.row, target: select.value });
      const answer = await critic.api("GET", url);
      row.querySelectorAll("[data-explained]").forEach((el) => {
        shade(el, answer.pieces);
        el.dataset.explained = answer.target;
      });
      target.textContent = "why " + answer.target;
      showTop(why.querySelector(".ev-why-top"), answer.top);
    } catch (failure) {
      target.textContent = "could not explain " + select.value + ": " + failure.message;
    } finally {
      select.disabled = false;
    }
  }

  function wireClassPicker() {
    document.querySelectorAll(".ev-why-pick").forEach((label) => { label.hidden = false; });
    document.addEventListener("change", (event) => {
      if (event.target.matches("select.ev-why-class")) explainFor(event.target);
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
    wireErrorBrowser();
    wireClassPicker();
  });
})();
