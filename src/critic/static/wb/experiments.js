// The experiments pages (critic.serve.workbench.experiments): each part starts when its element
// is on the page.
//   #compare-form  the list: Compare enabled from two ticks; the table refreshed while runs go on
//   #new-form      the New form: a model's own settings filled in when the model changes
//   #live          an experiment's page: polls its events (events.jsonl) and its job's log every
//                  second, draws the curves within the epoch, ETA, samples/s, status
//   #compare-data  the comparison: curves of every experiment overlaid
// Curves are uPlot charts; each chart's element carries data-points (the points it draws).
(function () {
  "use strict";

  const POLL_MS = 1000;
  const LIST_MS = 3000;
  const LOG_KEEP = 200000; // characters of log kept in the page
  const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];

  function css(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  // --- charts ------------------------------------------------------------------------------

  function chart(el, series, percent, xRange) {
    if (!window.uPlot) return null;
    const muted = css("--muted", "#5b6167");
    const line = css("--line", "#d9dcdf");
    const fmt = (v) => (v === null || v === undefined ? "–" : percent ? (100 * v).toFixed(1) + "%" : v.toFixed(4));
    const axis = { stroke: muted, grid: { stroke: line, width: 1 }, ticks: { stroke: line } };
    const opts = {
      width: Math.max(200, el.clientWidth || 600),
      height: 240,
      scales: { x: xRange ? { time: false, range: xRange } : { time: false } },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      series: [
        { label: "epoch", value: (u, v) => (v === null || v === undefined ? "–" : v.toFixed(2)) },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          dash: s.dash,
          spanGaps: true,
          points: { show: s.points, size: 6, fill: s.color },
          value: (u, v) => fmt(v),
        })),
      ],
      axes: [
        { ...axis, label: "epoch" },
        { ...axis, size: 60, values: (u, vals) => vals.map((v) => (percent ? (100 * v).toFixed(0) + "%" : +v.toFixed(3))) },
      ],
    };
    const plot = new uPlot(opts, [[], ...series.map(() => [])], el);
    if (window.ResizeObserver) {
      new ResizeObserver(() => {
        const width = Math.max(200, el.clientWidth);
        if (Math.abs(width - plot.width) > 2) plot.setSize({ width, height: 240 });
      }).observe(el);
    }
    return plot;
  }

  function draw(el, plot, data) {
    el.dataset.points = String(data[0].length);
    if (plot) plot.setData(data);
  }

  // --- the live page -------------------------------------------------------------------------

  function startLive(root) {
    const $ = (id) => document.getElementById(id);
    const accent = css("--accent", "#1f5fbf");
    const good = css("--good", "#1b7a3a");
    const lossEl = $("chart-loss");
    const accEl = $("chart-acc");
    const series = [
      { label: "train", color: accent, points: false },
      { label: "validation", color: good, points: true },
    ];
    const s = {
      offset: 0,
      log: 0,
      status: root.dataset.status,
      wantSettings: root.dataset.hasSettings !== "1" && !!root.dataset.name,
      x: [], tl: [], vl: [], ta: [], va: [],
      epoch: 0, epochs: null, batches: null, epochT: null, best: null, endedPolls: 0,
    };
    // the whole run's epochs from the start: the curve grows into a steady frame
    const xRange = (u, min, max) => [0, Math.max(s.epochs || 1, max || 1)];
    const lossPlot = chart(lossEl, series, false, xRange);
    const accPlot = chart(accEl, series, true, xRange);

    function cut(x) { // drop the points after epoch x (a resumed run starts that epoch again)
      let n = s.x.length;
      while (n && s.x[n - 1] > x + 1e-9) n--;
      for (const a of [s.x, s.tl, s.vl, s.ta, s.va]) a.length = n;
    }

    function point(x, tl, ta, vl, va) {
      const last = s.x.length - 1;
      if (last >= 0 && Math.abs(s.x[last] - x) < 1e-9) {
        if (tl !== null) { s.tl[last] = tl; s.ta[last] = ta; }
        if (vl !== null) { s.vl[last] = vl; s.va[last] = va; }
        return;
      }
      s.x.push(x); s.tl.push(tl); s.ta.push(ta); s.vl.push(vl); s.va.push(va);
    }

    function say(text) { // what the run is doing (kept, to show again after a lost connection)
      s.phase = text;
      $("phase").textContent = text;
    }

    function onEvent(ev) {
      switch (ev.event) {
        case "phase":
          say(ev.phase);
          break;
        case "epoch_start":
          s.epoch = ev.epoch; s.epochs = ev.epochs; s.batches = ev.batches; s.epochT = ev.t;
          cut(ev.epoch - 1);
          $("m-epoch").textContent = ev.epoch + " / " + ev.epochs; // the epoch under way
          $("m-batch").textContent = "0 / " + critic.fmt.int(ev.batches);
          say("Training epoch " + ev.epoch + " of " + ev.epochs + ".");
          break;
        case "batch": {
          const x = (s.epoch || 1) - 1 + ev.batch / ev.batches;
          point(x, ev.loss, ev.accuracy, null, null);
          $("m-batch").textContent = critic.fmt.int(ev.batch) + " / " + critic.fmt.int(ev.batches);
          $("m-speed").textContent = critic.fmt.int(Math.round(ev.samples_per_s));
          if (s.epochT !== null && ev.batch > 0) {
            const perBatch = (ev.t - s.epochT) / ev.batch;
            const left = (ev.batches - ev.batch) + ev.batches * Math.max(0, (s.epochs || s.epoch) - s.epoch);
            s.eta = { secs: left * perBatch, at: Date.now() };
          }
          const done = (s.epoch - 1 + ev.batch / ev.batches) / (s.epochs || 1);
          $("progress").value = Math.min(1, done);
          $("progress-wrap").hidden = false;
          break;
        }
        case "epoch_end":
          point(ev.epoch, ev.train_loss, ev.train_accuracy, ev.val_loss, ev.val_accuracy);
          s.epoch = ev.epoch;
          $("m-epoch").textContent = ev.epoch + " / " + (s.epochs || ev.epoch);
          if (ev.samples_per_s != null) $("m-speed").textContent = critic.fmt.int(Math.round(ev.samples_per_s));
          if (ev.val_accuracy !== null && ev.val_accuracy !== undefined && ev.best) s.best = ev.val_accuracy;
          if (s.best !== null) $("m-best").textContent = critic.fmt.pct(s.best);
          if (s.epochs) { $("progress").value = ev.epoch / s.epochs; $("progress-wrap").hidden = false; }
          break;
        case "early_stop":
          say("Stopped early after epoch " + ev.epoch + ": no better validation figure for " + ev.patience + " epochs.");
          break;
        case "end":
          say(ev.status === "failed" ? "The run failed: " + (ev.error || "see the log") : "The run ended: " + ev.status + ".");
          s.eta = null;
          break;
      }
    }

    function setStatus(status, data) {
      const badge = $("status");
      badge.textContent = status;
      badge.className = "status status-" + status + " exp-badge";
      root.dataset.status = status;
      document.querySelectorAll("#live [data-show-when]").forEach((el) => {
        let show = el.dataset.showWhen.split(" ").includes(status);
        if (el.id === "cancel-form" && !data.job) show = false;
        if (el.id === "resume-form" && !data.exists) show = false; // cancelled before it began
        if ((el.id === "evaluate" || el.id === "deploy") && !data.epochs_done) show = false;
        el.hidden = !show;
      });
      const waiting = $("waiting");
      if (waiting) {
        if (status === "running" && s.x.length) waiting.hidden = true;
        else if (status === "running") waiting.textContent = "Starting: the run loads its data and model.";
        else if (status !== "queued" && !s.x.length) waiting.textContent = "This run ended before it began training; its log says why.";
      }
      if (status !== "running") { s.eta = null; }
    }

    function showSettings(rows) {
      const body = document.querySelector("#settings tbody");
      body.textContent = "";
      for (const [key, value] of rows) {
        const tr = document.createElement("tr");
        const th = document.createElement("th");
        th.scope = "row";
        th.textContent = key;
        const td = document.createElement("td");
        td.textContent = value;
        tr.append(th, td);
        body.appendChild(tr);
      }
      const none = $("settings-none");
      if (none) none.hidden = true;
      s.wantSettings = false;
    }

    function appendLog(text) {
      const pre = $("log");
      if (!pre || !text) return;
      const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40;
      let all = pre.textContent + text;
      if (all.length > LOG_KEEP) all = "…\n" + all.slice(all.length - LOG_KEEP);
      pre.textContent = all;
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    }

    function tickEta() {
      const el = $("m-eta");
      if (!s.eta || s.status !== "running") { el.textContent = "–"; return; }
      const left = s.eta.secs - (Date.now() - s.eta.at) / 1000;
      el.textContent = critic.fmt.secs(Math.max(0, left));
    }

    const problem = $("phase");
    critic.poll(async () => {
      let data;
      try {
        const url = root.dataset.eventsUrl + "?offset=" + s.offset + "&log=" + s.log + (s.wantSettings ? "&settings=1" : "");
        data = await critic.api("GET", url);
      } catch (failure) {
        problem.textContent = failure.status === 0
          ? "The server cannot be reached; still trying (the run goes on by itself)."
          : failure.message;
        s.lost = true;
        return true;
      }
      if (s.lost) { problem.textContent = s.phase || ""; s.lost = false; }
      if (data.history && !s.x.length) { // a run older than its events file: epoch by epoch
        data.history.forEach((e) => onEvent({ event: "epoch_end", ...e }));
        draw(lossEl, lossPlot, [s.x, s.tl, s.vl]);
        draw(accEl, accPlot, [s.x, s.ta, s.va]);
      }
      data.events.forEach(onEvent);
      s.offset = data.offset;
      s.log = data.log_offset;
      appendLog(data.log);
      if (data.settings) showSettings(data.settings);
      s.status = data.status;
      setStatus(data.status, data);
      if (data.events.length) {
        draw(lossEl, lossPlot, [s.x, s.tl, s.vl]);
        draw(accEl, accPlot, [s.x, s.ta, s.va]);
      }
      tickEta();
      if (data.ended && !data.events.length && !data.log) s.endedPolls += 1;
      return s.endedPolls < 2; // one more look after the end: the last lines may come late
    }, POLL_MS);
    setInterval(tickEta, 1000);
  }

  // --- the New form ------------------------------------------------------------------------

  function startNew(form) {
    const model = form.querySelector("#model");
    const dataset = form.querySelector("#dataset");
    const state = document.getElementById("defaults-state");
    async function fill() {
      state.textContent = "Loading the settings of " + model.value.replace(/^\w+:/, "") + "…";
      let d;
      try {
        d = await critic.api("GET", form.getAttribute("data-defaults-url") /* form.dataset: its "dataset" field */ + "?model=" + encodeURIComponent(model.value));
      } catch (failure) {
        critic.showError(form.querySelector("[data-error]"), failure);
        state.textContent = "";
        return;
      }
      form.querySelectorAll("[data-setting]").forEach((box) => {
        const key = box.dataset.setting;
        const input = box.querySelector("input, select");
        const applies = d.applies.includes(key);
        if (key in d.train) input.value = String(d.train[key]);
        input.disabled = !applies;
        box.classList.toggle("exp-off", !applies);
      });
      document.getElementById("linear-note").hidden = !d.linear;
      state.textContent = "The settings of " + model.value.replace(/^\w+:/, "") + " are filled in.";
      remember();
    }
    function remember() { // the choice in the address: reload and back keep it
      const q = new URLSearchParams({ model: model.value });
      if (dataset && dataset.value) q.set("dataset", dataset.value);
      history.replaceState(null, "", location.pathname + "?" + q);
    }
    model.addEventListener("change", fill);
    if (dataset) dataset.addEventListener("change", remember);
  }

  // --- the list ------------------------------------------------------------------------------

  function startList(form) {
    const button = form.querySelector("#compare");
    const hint = document.getElementById("compare-hint");
    function update() {
      const n = form.querySelectorAll('input[name="names"]:checked').length;
      button.disabled = n < 2;
      hint.textContent = n < 2 ? "Tick two or more experiments that have finished an epoch." : n + " ticked.";
    }
    form.addEventListener("change", update);
    update();
    const table = document.getElementById("experiments");
    if (!table.dataset.active) return;
    critic.poll(async () => { // while runs go on: the rows again, the ticks kept
      const response = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (!response.ok) return true;
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = doc.getElementById("experiments");
      if (!fresh) return false;
      const ticked = new Set([...form.querySelectorAll('input[name="names"]:checked')].map((i) => i.value));
      table.querySelector("tbody").replaceWith(fresh.querySelector("tbody"));
      form.querySelectorAll('input[name="names"]').forEach((i) => { i.checked = ticked.has(i.value); });
      update();
      return !!fresh.dataset.active;
    }, LIST_MS);
  }

  // --- the comparison ------------------------------------------------------------------------

  function startCompare(script) {
    const runs = JSON.parse(script.textContent); // [{name, epochs: [{epoch, train_loss, ...}]}]
    const curves = Object.fromEntries(runs.map((r) => [r.name, r.epochs]));
    const names = runs.map((r) => r.name);
    const xs = [...new Set(names.flatMap((n) => curves[n].map((e) => e.epoch)))].sort((a, b) => a - b);
    function columns(key) {
      return names.map((n) => {
        const by = new Map(curves[n].map((e) => [e.epoch, e[key]]));
        return xs.map((x) => (by.has(x) ? by.get(x) : null));
      });
    }
    document.querySelectorAll("#metrics tbody tr").forEach((row, i) => { // its curves' colour
      const swatch = document.createElement("span");
      swatch.className = "exp-swatch";
      swatch.setAttribute("aria-hidden", "true");
      swatch.style.background = PALETTE[i % PALETTE.length];
      row.querySelector("th").prepend(swatch);
    });
    for (const [id, what, percent] of [["cmp-loss", "loss", false], ["cmp-acc", "accuracy", true]]) {
      const el = document.getElementById(id);
      const series = [];
      const data = [xs];
      const val = columns("val_" + what);
      const train = columns("train_" + what);
      names.forEach((n, i) => {
        const color = PALETTE[i % PALETTE.length];
        series.push({ label: n + " val.", color, points: true });
        data.push(val[i]);
        series.push({ label: n + " train", color, dash: [6, 4], points: false });
        data.push(train[i]);
      });
      draw(el, chart(el, series, percent), data);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const live = document.getElementById("live");
    if (live) startLive(live);
    const form = document.getElementById("new-form");
    if (form) startNew(form);
    const list = document.getElementById("compare-form");
    if (list) startList(list);
    const compare = document.getElementById("compare-data");
    if (compare) startCompare(compare);
  });
})();
