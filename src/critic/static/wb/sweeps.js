// The sweeps pages (critic.serve.workbench.sweeps): each part starts when its element is on the page.
//   #sweep-form  the New form: the chosen preset's example space in the text box, while the box
//                still holds the previous preset's example (what a person typed is kept)
//   #sweep       a sweep's page: while it runs, polls its state every few seconds and reloads the
//                page when a trial has ended (new rows, new pictures)
(function () {
  "use strict";

  const POLL_MS = 3000;

  function startForm(form) {
    const preset = form.querySelector("#preset");
    const space = form.querySelector("#space");
    let shown = preset.selectedOptions[0] ? preset.selectedOptions[0].dataset.space : "";
    preset.addEventListener("change", () => {
      const example = preset.selectedOptions[0].dataset.space || "";
      if (space.value.trim() === shown.trim()) space.value = example;
      shown = example;
    });
  }

  function startPage(root) {
    const initial = JSON.parse(root.dataset.state);
    if (initial.finished) return;
    const note = document.getElementById("live-note");
    window.critic.poll(async () => {
      let now;
      try {
        now = await window.critic.api("GET", root.dataset.stateUrl);
      } catch (failure) {
        if (note) note.textContent = "Not following: " + failure.message;
        return true;
      }
      if (JSON.stringify(now) !== JSON.stringify(initial)) {
        window.location.reload();
        return false;
      }
      return true;
    }, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("sweep-form");
    if (form) startForm(form);
    const page = document.getElementById("sweep");
    if (page) startPage(page);
  });
})();
