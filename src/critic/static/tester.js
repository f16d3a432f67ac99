// The API tester (/tester): posts the text as a form, as `curl -F` does, with the token as a
// Bearer header; shows every class's probability and, with "explain", why: the text with each
// word shaded by its score (blue toward the class explained, orange away from it; four levels of
// the largest |score|, as critic.explain.shade), the text the model did not read struck through,
// a legend and the strongest words. A class picker asks again for another class (explain_class).
// Offsets in the answer count Unicode code points, so the text is cut as Array.from(text).
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const LEVELS = 4, PLAIN = 0.02; // as critic.explain.shade
  let last = null; // {url, token, field, text}: the request the explanation belongs to

  function restore() {
    const params = new URLSearchParams(location.search);
    $("url").value = params.get("url") || localStorage.getItem("critic.tester.url") || "";
    $("input").value = params.get("input") || $("input").value;
    const saved = localStorage.getItem("critic.tester.token");
    if (saved) { $("token").value = saved; $("remember").checked = true; }
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function show(node) { $("result").replaceChildren(node); }

  function showError(message) {
    const box = el("div", "error", message);
    box.id = "error";
    show(box);
    $("why").hidden = true;
  }

  function showAnswer(answer) {
    const wrap = el("div");
    for (const [name, p] of Object.entries(answer.probabilities)) {
      const bar = el("div", "bar" + (name === answer.label ? " winner" : ""));
      bar.dataset.label = name; bar.dataset.probability = String(p);
      const track = el("div", "track"), fill = el("div", "fill");
      fill.style.width = (100 * p).toFixed(2) + "%"; // CSSOM, which the CSP allows
      track.append(fill);
      bar.append(el("span", "name", name), track, el("span", "value", p.toFixed(8)));
      wrap.append(bar);
    }
    wrap.append(el("p", "meta", `${answer.deployment} · experiment ${answer.experiment} · ${answer.checkpoint} checkpoint`));
    show(wrap);
  }

  function level(score, largest) {
    if (largest <= 0 || Math.abs(score) < PLAIN * largest) return 0;
    return Math.sign(score) * Math.min(LEVELS, Math.ceil(LEVELS * Math.abs(score) / largest));
  }

  function shadedText(chars, explanation) {
    const box = $("why-text");
    box.replaceChildren();
    const largest = Math.max(0, ...explanation.spans.map((s) => Math.abs(s.score)));
    const marks = explanation.spans.map((s) => ({ ...s, seen: true }))
      .concat(explanation.unseen.map((r) => ({ ...r, seen: false })))
      .sort((a, b) => a.start - b.start);
    let at = 0;
    for (const m of marks) {
      if (m.start > at) box.append(document.createTextNode(chars.slice(at, m.start).join("")));
      const text = chars.slice(m.start, m.end).join("");
      if (!m.seen) {
        const skipped = el("span", "xp-unseen", text);
        skipped.title = "not read: beyond the model's sequence length";
        box.append(skipped);
      } else {
        const lv = level(m.score, largest);
        const word = el("mark", "xp-word" + (lv > 0 ? " xp-p" + lv : lv < 0 ? " xp-n" + -lv : ""), text);
        word.dataset.score = String(m.score); word.dataset.level = String(lv);
        word.title = (m.score >= 0 ? "+" : "") + m.score.toFixed(4);
        box.append(word);
      }
      at = m.end;
    }
    if (at < chars.length) box.append(document.createTextNode(chars.slice(at).join("")));
  }

  function legend(explanation) {
    const box = $("why-legend");
    const item = (cls, words) => { const s = el("span"); s.append(el("i", cls), words); return s; };
    box.replaceChildren(
      item("toward", `toward ${explanation.target}`),
      item("away", `away from ${explanation.target}`),
    );
    if (explanation.unseen.length) {
      const s = el("span"); s.append(el("span", "xp-unseen", "struck through"), " not read (beyond the sequence length)");
      box.append(s);
    }
  }

  function strongest(explanation) {
    const list = $("why-top");
    list.replaceChildren();
    const top = [...explanation.spans].sort((a, b) => Math.abs(b.score) - Math.abs(a.score) || a.start - b.start).slice(0, 10);
    for (const s of top) {
      const li = el("li", s.score >= 0 ? "for" : "against");
      li.append(el("span", "word", s.word), el("span", "score", (s.score >= 0 ? "+" : "") + s.score.toFixed(3)));
      list.append(li);
    }
    if (!top.length) list.append(el("li", "", "no word the model knows"));
  }

  function method(e) {
    if (e.method === "linear") return "exact: each word's share of the logit (" + e.base.toFixed(3) + " without words, " + e.value.toFixed(3) + " with them)";
    if (e.method === "occlusion") return "occlusion: the log-odds each word takes away";
    return `Integrated Gradients on the log-odds, ${e.steps} steps, completeness error ${(100 * e.completeness_error).toFixed(1)} %`;
  }

  function showExplanation(answer, chars) {
    const e = answer.explanation;
    const picker = $("why-class");
    picker.replaceChildren(...Object.keys(answer.probabilities).map((c) => {
      const option = el("option", "", c); option.value = c; option.selected = c === e.target; return option;
    }));
    $("why-title").textContent = `Why ${answer.label}` + (e.target === answer.label ? "" : ` (explaining ${e.target})`);
    $("why-method").textContent = method(e);
    shadedText(chars, e);
    legend(e);
    strongest(e);
    $("why").hidden = false;
  }

  async function ask(request, explainClass) {
    const body = new FormData();
    body.append(request.field, request.text);
    if ($("explain").checked) body.append("explain", "1");
    if (explainClass) body.append("explain_class", explainClass);
    $("play").disabled = true; $("status").textContent = "asking…";
    const started = performance.now();
    try {
      const response = await fetch(request.url, { method: "POST", body,
        headers: { "Authorization": "Bearer " + request.token } }); // Bearer: a 401 shows here, not as a login dialog
      let answer = null;
      try { answer = await response.json(); } catch (_) { /* not JSON: reported below */ }
      if (!response.ok) {
        showError(`${response.status} ${response.statusText}: ` + (answer && answer.message ? answer.message : "the server did not say why"));
      } else if (!answer || !answer.probabilities) {
        showError("the answer is not a prediction; is the URL a critic /predict address?");
      } else {
        showAnswer(answer);
        if (answer.explanation) showExplanation(answer, Array.from(request.text));
        else $("why").hidden = true;
      }
    } catch (err) {
      showError("could not reach " + request.url + ": " + err.message + " (is `critic serve` running, and the URL right?)");
    } finally {
      $("play").disabled = false;
      $("status").textContent = `${Math.round(performance.now() - started)} ms`;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    restore();
    $("tester").addEventListener("submit", (event) => {
      event.preventDefault();
      const url = $("url").value.trim(), token = $("token").value.trim(), field = $("input").value.trim();
      localStorage.setItem("critic.tester.url", url);
      if ($("remember").checked) localStorage.setItem("critic.tester.token", token);
      else localStorage.removeItem("critic.tester.token");
      // a form sends line breaks as CRLF: the text is sent (and its offsets counted) that way
      last = { url, token, field, text: $("text").value.replace(/\r\n|\r|\n/g, "\r\n") };
      ask(last, null);
    });
    $("why-class").addEventListener("change", () => {
      if (last) ask(last, $("why-class").value);
    });
  });
})();
