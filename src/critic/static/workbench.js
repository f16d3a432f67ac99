// critic's workbench: what every page's script shares (loaded by base.html on every page).
// No framework: pages are rendered by the server; a page's own script (static/wb/AREA.js) adds
// what needs the browser (live curves, the canvas, uploads) through window.critic:
//
//   critic.api(method, url, body?)  → the parsed JSON answer; throws critic.Failure
//                                     {status, code, message} for a 4xx/5xx (the API's JSON error)
//   critic.showError(el, failure)   → the error in words inside `el` (role="alert")
//   critic.poll(fn, ms)             → calls async fn every ms until it returns false; stop()
//   critic.fmt.{int, pct, num, secs}
//
// Every state-changing request carries X-CSRF-Token (from <meta name="csrf-token">); the server
// refuses it without. A <form data-api> is sent with fetch: its answer's `redirect` is followed,
// an error is shown in the form's [role=alert] element, and the button is disabled meanwhile.
(function () {
  "use strict";

  class Failure extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  async function api(method, url, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrf();
    let payload = body;
    if (body !== undefined && !(body instanceof FormData) && !(body instanceof Blob)) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, { method, headers, body: payload, credentials: "same-origin" });
    } catch (err) {
      throw new Failure(0, "network", "The server cannot be reached: is `critic serve` running?");
    }
    const type = response.headers.get("Content-Type") || "";
    const data = type.includes("application/json") ? await response.json() : await response.text();
    if (!response.ok) {
      if (response.status === 401 && data && data.error === "login_required") {
        window.location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
      }
      const code = (data && data.error) || "http_" + response.status;
      const message = (data && data.message) || "The server answered " + response.status + ".";
      throw new Failure(response.status, code, message);
    }
    return data;
  }

  function showError(el, failure) {
    if (!el) return;
    el.hidden = false;
    el.setAttribute("role", "alert");
    el.textContent = "";
    const strong = document.createElement("strong");
    strong.textContent = failure.message || String(failure);
    el.appendChild(strong);
    if (failure.code) {
      const small = document.createElement("small");
      small.textContent = " (" + failure.code + (failure.status ? ", HTTP " + failure.status : "") + ")";
      el.appendChild(small);
    }
  }

  function clearError(el) {
    if (!el) return;
    el.hidden = true;
    el.textContent = "";
  }

  function poll(fn, ms) {
    let timer = null;
    let stopped = false;
    async function tick() {
      if (stopped) return;
      let more = true;
      try {
        more = (await fn()) !== false;
      } catch (err) {
        console.error(err);
      }
      if (more && !stopped) timer = setTimeout(tick, ms);
    }
    tick();
    return { stop() { stopped = true; clearTimeout(timer); } };
  }

  const fmt = {
    int: (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US")),
    pct: (x, d = 1) => (x === null || x === undefined ? "–" : (100 * x).toFixed(d) + "%"),
    num: (x, d = 3) => (x === null || x === undefined ? "–" : Number(x).toFixed(d)),
    secs: (s) => {
      if (s === null || s === undefined || !isFinite(s)) return "–";
      s = Math.round(s);
      const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
      return (h ? h + " h " : "") + (h || m ? m + " min " : "") + r + " s";
    },
  };

  // <form data-api [data-method=POST]>: sent with fetch, the answer's `redirect` followed
  function wireForms(root) {
    root.querySelectorAll("form[data-api]").forEach((form) => {
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
        const alert = form.querySelector("[data-error]");
        const buttons = form.querySelectorAll("button");
        clearError(alert);
        buttons.forEach((b) => (b.disabled = true));
        try {
          const method = (form.dataset.method || form.method || "POST").toUpperCase();
          const answer = await api(method, form.action, new FormData(form));
          form.dispatchEvent(new CustomEvent("critic:done", { detail: answer, bubbles: true }));
          if (answer && answer.redirect) window.location.assign(answer.redirect);
        } catch (failure) {
          showError(alert, failure);
        } finally {
          buttons.forEach((b) => (b.disabled = false));
        }
      });
    });
  }

  window.critic = { api, Failure, showError, clearError, poll, fmt, csrf };
  document.addEventListener("DOMContentLoaded", () => wireForms(document));
})();
