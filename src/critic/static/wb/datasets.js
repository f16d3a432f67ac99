// The Datasets pages (critic/serve/workbench/datasets.py): the upload with its progress, the
// preview's chosen columns, a data job's progress and log, the statistics job of a version page,
// and the sequence-length field of its coverage table. Uses window.critic (workbench.js).
(function () {
  "use strict";
  const critic = window.critic;

  function bytes(n) {
    const units = [["GB", 1e9], ["MB", 1e6], ["kB", 1e3]];
    for (const [unit, scale] of units) if (n >= scale) return (n / scale).toFixed(1) + " " + unit;
    return n + " bytes";
  }

  // -- upload: the file is the raw body (streamed to disk by the server); XHR reports progress ---
  function wireUpload(form) {
    const input = form.querySelector("#upload-file");
    const box = form.querySelector("#upload-progress");
    const bar = form.querySelector("#upload-bar");
    const status = form.querySelector("#upload-status");
    const alert = form.querySelector("[data-error]");
    const button = form.querySelector("button[type=submit]");
    const max = Number(form.dataset.max);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      critic.clearError(alert);
      const file = input.files[0];
      if (!file) return;
      if (file.size > max) {
        critic.showError(alert, new critic.Failure(413, "upload_too_large",
          file.name + " is " + bytes(file.size) + ", over the upload limit of " + bytes(max) +
          " (CRITIC_MAX_UPLOAD_BYTES); import it from a server path or a URL instead."));
        return;
      }
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/datasets/-/upload?filename=" + encodeURIComponent(file.name));
      xhr.setRequestHeader("X-CSRF-Token", critic.csrf());
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (e) => {
        if (!e.lengthComputable) return;
        bar.value = (100 * e.loaded) / e.total;
        status.textContent = bytes(e.loaded) + " of " + bytes(e.total) + " (" + Math.floor(bar.value) + " %)";
      });
      xhr.addEventListener("load", () => {
        let answer = null;
        try { answer = JSON.parse(xhr.responseText); } catch (err) { answer = null; }
        if (xhr.status >= 200 && xhr.status < 300 && answer && answer.redirect) {
          status.textContent = "Uploaded " + bytes(answer.bytes) + "; reading its first rows…";
          window.location.assign(answer.redirect);
          return;
        }
        button.disabled = false;
        box.hidden = true;
        critic.showError(alert, new critic.Failure(xhr.status, (answer && answer.error) || "http_" + xhr.status,
          (answer && answer.message) || "The server answered " + xhr.status + "."));
      });
      xhr.addEventListener("error", () => {
        button.disabled = false;
        box.hidden = true;
        critic.showError(alert, new critic.Failure(0, "network", "The upload broke off: is the server running? Try again."));
      });
      button.disabled = true;
      box.hidden = false;
      bar.value = 0;
      status.textContent = "Starting…";
      xhr.send(file);
    });
  }

  // -- preview: the chosen text and label columns marked in the table -----------------------------
  function wirePreview(form) {
    const table = document.getElementById("preview-table");
    const roles = { "text-column": "text", "label-column": "label", "subset-column": "subset" };
    function mark() {
      if (!table) return;
      table.querySelectorAll("[data-column]").forEach((cell) => {
        cell.classList.remove("role-text", "role-label", "role-subset");
        const badge = cell.querySelector(".role");
        if (badge) badge.textContent = "";
      });
      for (const [id, role] of Object.entries(roles)) {
        const select = document.getElementById(id);
        if (!select || !select.value) continue;
        table.querySelectorAll("[data-column]").forEach((cell) => {
          if (cell.dataset.column !== select.value) return;
          cell.classList.add("role-" + role);
          const badge = cell.querySelector(".role");
          if (badge) badge.textContent = " · " + role;
        });
      }
    }
    Object.keys(roles).forEach((id) => {
      const select = document.getElementById(id);
      if (select) select.addEventListener("change", mark);
    });
    mark();
  }

  // -- a data job's page: state, log, the version it made ----------------------------------------
  function followJob(jobId, hooks) {
    let offset = 0;
    return critic.poll(async () => {
      const answer = await critic.api("GET", "/datasets/-/jobs/" + jobId + "/log?offset=" + offset);
      offset = answer.offset;
      hooks.update(answer);
      if (answer.finished) { hooks.finished(answer); return false; }
      return true;
    }, 1000);
  }

  function appendLog(pre, text) {
    if (!text) return;
    const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
    pre.textContent = (pre.textContent + text).slice(-200000);
    if (atEnd) pre.scrollTop = pre.scrollHeight;
  }

  function wireJobPage(section) {
    const state = document.getElementById("job-state");
    const time = document.getElementById("job-time");
    const pre = document.getElementById("job-log");
    const busy = document.getElementById("job-busy");
    followJob(section.dataset.job, {
      update(answer) {
        appendLog(pre, answer.text);
        state.textContent = answer.state;
        state.className = "status status-" + answer.state;
        if (answer.seconds !== null) time.textContent = "· " + critic.fmt.secs(answer.seconds);
      },
      finished(answer) {
        busy.hidden = true;
        const stop = document.getElementById("job-cancel");
        if (stop) stop.hidden = true;
        if (answer.version) {
          const link = document.getElementById("version-link");
          link.href = answer.version.url;
          link.textContent = answer.version.ref;
          document.getElementById("job-done").hidden = false;
          link.focus();
        }
        if (answer.state !== "done") {
          const error = document.getElementById("job-error");
          error.hidden = false;
          error.textContent = answer.error || "The job ended: " + answer.state + ". Its log says why.";
        }
      },
    });
  }

  // -- a version page: statistics computed by a job when missing ---------------------------------
  function wireStats(section) {
    const error = document.getElementById("stats-error");
    const label = document.getElementById("stats-state");
    const pre = document.getElementById("stats-log");
    async function start() {
      let jobId = section.dataset.job;
      try {
        if (!jobId) jobId = (await critic.api("POST", section.dataset.url, new FormData())).job;
      } catch (failure) {
        critic.showError(error, failure);
        return;
      }
      followJob(jobId, {
        update(answer) {
          appendLog(pre, answer.text);
          label.textContent = "Computing the statistics… (" + answer.state + ")";
        },
        finished(answer) {
          if (answer.state === "done") window.location.reload();
          else critic.showError(error, new critic.Failure(0, answer.state,
            answer.error || "The statistics job ended: " + answer.state + "."));
        },
      });
    }
    start();
  }

  function wireWordpiece(button) {
    const section = document.getElementById("statistics");
    button.addEventListener("click", async () => {
      const note = document.getElementById("wordpiece-note");
      button.disabled = true;
      const body = new FormData();
      body.append("wordpiece", "1");
      try {
        const answer = await critic.api("POST", section.dataset.url, body);
        button.textContent = "Counting…";
        followJob(answer.job, {
          update() {},
          finished(done) {
            if (done.state === "done") window.location.reload();
            else {
              button.disabled = false;
              button.textContent = "Count WordPiece tokens";
              critic.showError(document.getElementById("coverage-error"), new critic.Failure(0, done.state,
                done.error || "Counting WordPiece tokens failed; see `critic jobs logs`."));
            }
          },
        });
      } catch (failure) {
        button.disabled = false;
        critic.showError(document.getElementById("coverage-error"), failure);
      }
      if (note) note.setAttribute("aria-busy", "true");
    });
  }

  // -- the sequence-length field: the shares it cuts, asked as the person types (debounced) ------
  function wireCoverage(input) {
    const table = document.getElementById("coverage-table");
    const error = document.getElementById("coverage-error");
    let timer = null;
    let asked = 0;
    async function ask() {
      const value = input.value.trim();
      if (!/^\d+$/.test(value) || Number(value) < 1) {
        critic.showError(error, new critic.Failure(0, "invalid_length", "Type a whole number from 1 on."));
        return;
      }
      const mine = ++asked;
      try {
        const answer = await critic.api("GET", input.dataset.url + "?length=" + value);
        if (mine !== asked) return; // a later keystroke's answer wins
        critic.clearError(error);
        table.querySelectorAll("tr[data-subset]").forEach((row) => {
          const s = row.dataset.subset;
          row.querySelector(".words").textContent = answer.words && s in answer.words ? critic.fmt.pct(answer.words[s]) : "–";
          row.querySelector(".pieces").textContent = answer.wordpiece && s in answer.wordpiece ? critic.fmt.pct(answer.wordpiece[s]) : "not counted";
        });
        table.dataset.length = String(answer.length);
      } catch (failure) {
        if (mine === asked) critic.showError(error, failure);
      }
    }
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(ask, 200);
    });
    ask();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const upload = document.getElementById("upload-form");
    if (upload) wireUpload(upload);
    const preview = document.getElementById("import-form");
    if (preview) wirePreview(preview);
    const job = document.getElementById("job");
    if (job) wireJobPage(job);
    const stats = document.getElementById("statistics");
    if (stats && stats.dataset.stats === "missing") wireStats(stats);
    const wordpiece = document.getElementById("count-wordpiece");
    if (wordpiece) wireWordpiece(wordpiece);
    const length = document.getElementById("seq-length");
    if (length) wireCoverage(length);
  });
})();
