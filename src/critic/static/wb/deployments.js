// The deployments pages (critic.serve.workbench.deployments): what needs the browser.
//
//   [data-copy="#id"]        copies the element's text (an input's value) to the clipboard; where
//                            the clipboard is refused, selects the text for Ctrl+C instead
//   form[data-confirm]       asks before it is sent (rotate the token)
//   #delete-form             its button is enabled once the deployment's name is typed
//   #stats[data-url]         the request figures, refreshed every few seconds
//   #create-form             the name's placeholder follows the experiment and checkpoint chosen
(function () {
  "use strict";

  const REFRESH_MS = 5000;

  // --- copy --------------------------------------------------------------------------------------

  function textOf(el) {
    return el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement ? el.value : el.textContent;
  }

  function select(el) {
    if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) {
      el.focus();
      el.select();
      return;
    }
    const range = document.createRange();
    range.selectNodeContents(el);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // the old way, for a page without the Clipboard API (not a secure context, or refused)
  function copyBySelection(el) {
    select(el);
    try {
      return document.execCommand("copy");
    } catch (err) {
      return false;
    }
  }

  function say(button, message) {
    const status = document.getElementById("copy-status");
    if (status && button.id === "copy-token") status.textContent = message;
    const live = liveRegion();
    live.textContent = message;
  }

  let live = null;
  function liveRegion() {
    if (!live) {
      live = document.createElement("span");
      live.className = "visually-hidden";
      live.setAttribute("aria-live", "polite");
      document.body.appendChild(live);
    }
    return live;
  }

  async function copy(button) {
    const el = document.querySelector(button.dataset.copy);
    if (!el) return;
    const text = textOf(el);
    let done = false;
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        done = true;
      } catch (err) {
        done = false;
      }
    }
    if (!done) done = copyBySelection(el);
    if (done) {
      const label = button.textContent;
      button.textContent = "Copied";
      button.classList.add("copied");
      say(button, "Copied to the clipboard.");
      setTimeout(() => {
        button.textContent = label;
        button.classList.remove("copied");
      }, 2000);
    } else {
      select(el);
      say(button, "The browser refused the clipboard: the text is selected, press Ctrl+C (⌘C) to copy it.");
    }
  }

  // --- forms -------------------------------------------------------------------------------------

  function wireConfirm(form) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }

  function wireDelete(form) {
    const input = form.querySelector("#confirm");
    const button = form.querySelector("#delete");
    const update = () => {
      button.disabled = input.value.trim() !== form.dataset.name;
    };
    input.addEventListener("input", update);
    update();
  }

  function wireCreate(form) {
    const experiment = form.querySelector("#experiment");
    const name = form.querySelector("#name");
    const update = () => {
      const checked = form.querySelector('input[name="checkpoint"]:checked');
      if (experiment.value) name.placeholder = experiment.value + "-" + (checked ? checked.value : "best");
    };
    form.addEventListener("change", update);
    update();
  }

  // --- the request figures -----------------------------------------------------------------------

  function ms(x) {
    return x === null || x === undefined ? "–" : Number(x).toFixed(1);
  }

  function watchStats(section) {
    const set = (id, text) => {
      const el = document.getElementById(id);
      if (el && el.textContent !== text) el.textContent = text;
    };
    critic.poll(async () => {
      if (document.hidden) return true;
      let s;
      try {
        s = await critic.api("GET", section.dataset.url);
      } catch (failure) {
        return failure.status !== 404; // deleted meanwhile: stop asking
      }
      set("stat-requests", critic.fmt.int(s.requests));
      set("stat-errors", critic.fmt.int(s.errors));
      set("stat-median", ms(s.median_ms));
      set("stat-p95", ms(s.p95_ms));
      return true;
    }, REFRESH_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-copy]").forEach((button) => {
      button.addEventListener("click", () => copy(button));
    });
    document.querySelectorAll("form[data-confirm]").forEach(wireConfirm);
    const del = document.getElementById("delete-form");
    if (del) wireDelete(del);
    const create = document.getElementById("create-form");
    if (create) wireCreate(create);
    const stats = document.getElementById("stats");
    if (stats && stats.dataset.url) watchStats(stats);
    // the token: selected when focused, so it is easy to copy by hand too
    const token = document.getElementById("token");
    if (token) token.addEventListener("focus", () => token.select());
  });
})();
