// The model canvas (GET /models/canvas): Drawflow draws the blocks and wires; this script keeps
// each block's name, type and settings in its node's data, sends the whole canvas to the server
// after each change (POST /models/check) and draws the answer on the blocks: output shape and
// parameters, or the error on the block it names. The server turns the canvas into the config
// tables (critic.experiments.canvas.tables_from_canvas): this file never builds tables itself.
//
//   canvas JSON: {blocks: [{id, type, settings, inputs: [block ids, in order], column, row}],
//                 init, train}   (the Input block's settings are the [encoder] table)
(function () {
  "use strict";

  const app = document.getElementById("canvas-app");
  if (!app) return;
  const palette = JSON.parse(app.dataset.palette);
  const start = JSON.parse(app.dataset.canvas);
  const types = Object.fromEntries(palette.blocks.map((b) => [b.type, b]));
  const encoders = Object.fromEntries(palette.encoders.map((e) => [e.kind, e]));

  const editor = new Drawflow(document.getElementById("drawflow"));
  editor.reroute = false;
  editor.start();

  const status = document.getElementById("check");
  const form = document.getElementById("settings");
  const pick = document.getElementById("pick");
  const NODE_W = 190, COL_W = 225, ROW_H = 120;
  let selected = null; // the Drawflow id of the block in the panel
  let clipboard = null; // {blocks: [{node, type, settings, inputs: [node ids], x, y}]}
  const marked = new Set(); // node ids marked (Shift+click, or the panel) to be copied together
  let loading = false; // while a graph is drawn: no check per node
  let pasteShift = 0;

  // -- blocks: names, settings, the node's face ------------------------------------------------

  function defaults(list) {
    const out = {};
    list.forEach((s) => { if (s.default !== null || !s.optional) out[s.name] = s.default; });
    return out;
  }

  function newSettings(type) {
    if (type === "Input") return { kind: "words", ...defaults(encoders.words.settings) };
    return defaults(types[type].settings);
  }

  function blockIds() {
    return Object.values(nodes()).map((n) => n.data.id);
  }

  function freshId(type) {
    const base = type.toLowerCase();
    const taken = new Set(blockIds());
    if (!taken.has(base)) return base;
    let n = 2;
    while (taken.has(base + n)) n += 1;
    return base + n;
  }

  function nodes() {
    return editor.export().drawflow.Home.data;
  }

  function face(nodeId) {
    return document.querySelector("#node-" + nodeId + " .blk");
  }

  const SKELETON = '<div class="blk"><div class="blk-head"><span class="blk-type"></span>' +
    '<span class="blk-id"></span></div><div class="blk-main"></div><div class="blk-shape"></div>' +
    '<div class="blk-error"></div></div>';

  function addBlock(type, settings, id, x, y) {
    const spec = types[type];
    const ins = spec.inputs === "none" ? 0 : 1;
    const outs = spec.output ? 1 : 0;
    const data = { id: id || freshId(type), type, settings: settings || newSettings(type) };
    const nodeId = editor.addNode(type, ins, outs, x, y, "blk-node blk-" + type, data, SKELETON);
    paint(nodeId);
    return nodeId;
  }

  // the text on a block: type, name, its main settings (all set with textContent, never as HTML)
  function paint(nodeId) {
    const node = editor.getNodeFromId(nodeId);
    const el = face(nodeId);
    if (!el) return;
    el.querySelector(".blk-type").textContent = node.data.type;
    el.querySelector(".blk-id").textContent = node.data.id;
    el.querySelector(".blk-main").textContent = summary(node.data);
    el.closest(".drawflow-node").dataset.block = node.data.id;
  }

  function summary(data) {
    const s = data.settings || {};
    if (data.type === "Input") {
      if (s.kind === "wordpiece") return "WordPiece, length " + s.sequence_length;
      if (s.kind === "multi-hot") return "multi-hot, " + critic.fmt.int(s.max_words) + " words";
      return "words " + critic.fmt.int(s.max_words) + ", length " + s.sequence_length;
    }
    return Object.entries(s)
      .filter(([, v]) => v !== null && v !== undefined)
      .slice(0, 3)
      .map(([k, v]) => k + " " + v)
      .join(", ");
  }

  // -- the canvas as JSON, and drawing one -------------------------------------------------------

  function canvasJson() {
    const all = nodes();
    const byNode = {};
    Object.values(all).forEach((n) => { byNode[n.id] = n.data.id; });
    const blocks = Object.values(all)
      .sort((a, b) => a.id - b.id)
      .map((n) => ({
        id: n.data.id,
        type: n.data.type,
        settings: n.data.settings,
        inputs: n.inputs.input_1 ? n.inputs.input_1.connections.map((c) => byNode[c.node]) : [],
      }));
    return { blocks, init: start.init || "keras", train: start.train || {} };
  }

  function draw(canvas) {
    loading = true;
    editor.clear();
    marked.clear();
    const ids = {};
    canvas.blocks.forEach((b) => {
      if (!types[b.type]) return;
      ids[b.id] = addBlock(b.type, b.settings, b.id, 30 + b.column * COL_W, 30 + b.row * ROW_H);
    });
    canvas.blocks.forEach((b) => {
      (b.inputs || []).forEach((source) => {
        if (ids[source] && ids[b.id]) editor.addConnection(ids[source], ids[b.id], "output_1", "input_1");
      });
    });
    loading = false;
    fit();
    refreshPick();
    scheduleCheck();
  }

  // the whole graph in view: Drawflow scales around the board's centre, so the shift puts the
  // top-left corner back at the top-left
  function fit() {
    const all = Object.values(nodes());
    const box = document.getElementById("drawflow");
    if (!all.length) return;
    const right = Math.max(...all.map((n) => n.pos_x)) + NODE_W + 40;
    const bottom = Math.max(...all.map((n) => n.pos_y)) + ROW_H;
    zoomTo(Math.max(0.3, Math.min(1, box.clientWidth / right, box.clientHeight / bottom)));
  }

  function zoomTo(zoom) {
    const w = editor.precanvas.clientWidth, h = editor.precanvas.clientHeight;
    editor.zoom = zoom;
    editor.zoom_last_value = zoom;
    editor.canvas_x = (w / 2) * (zoom - 1);
    editor.canvas_y = (h / 2) * (zoom - 1);
    editor.precanvas.style.transform =
      "translate(" + editor.canvas_x + "px, " + editor.canvas_y + "px) scale(" + zoom + ")";
  }

  // -- checks: after each change, the server's answer drawn on the blocks ------------------------

  let timer = null;
  let sequence = 0;

  // data-checking on the app: a change whose check has not been drawn yet (waiting out the
  // 200 ms pause, or asked): the blocks may still grow by a shape or an error line
  function scheduleCheck() {
    if (loading) return;
    document.getElementById("saved").hidden = true; // changed since the last save
    app.dataset.checking = "1";
    clearTimeout(timer);
    timer = setTimeout(runCheck, 200);
  }

  async function runCheck() {
    const mine = ++sequence;
    let answer;
    try {
      answer = await critic.api("POST", "/models/check", { canvas: canvasJson() });
    } catch (failure) {
      if (mine === sequence) {
        status.className = "check check-bad";
        status.textContent = "The check failed: " + failure.message;
        delete app.dataset.checking;
      }
      return;
    }
    if (mine !== sequence) return; // a newer change is being checked
    showCheck(answer);
    delete app.dataset.checking;
  }

  function showCheck(answer) {
    Object.values(nodes()).forEach((n) => {
      const el = face(n.id);
      if (!el) return;
      const node = el.closest(".drawflow-node");
      const shape = answer.blocks[n.data.id];
      node.classList.toggle("blk-bad", answer.block === n.data.id);
      node.classList.toggle("blk-ok", Boolean(shape));
      el.querySelector(".blk-shape").textContent = shape
        ? shape.output + (shape.parameters ? " · " + critic.fmt.int(shape.parameters) + " params" : "")
        : "";
      // the block is named on its face already: its message without "block 'ID' (Type)"
      el.querySelector(".blk-error").textContent = answer.block === n.data.id
        ? answer.error.replace(/^block '[^']*'( \([^)]*\))?:? ?/, "")
        : "";
    });
    if (answer.ok) {
      status.className = "check check-ok";
      status.textContent = "The graph fits: " + critic.fmt.int(answer.parameters) + " parameters (for two classes).";
    } else {
      status.className = "check check-bad";
      status.textContent = answer.error;
    }
  }

  // -- the settings panel ----------------------------------------------------------------------

  function refreshPick() {
    const keep = selected;
    pick.textContent = "";
    pick.appendChild(new Option("(select a block)", ""));
    Object.values(nodes()).sort((a, b) => a.id - b.id).forEach((n) => {
      pick.appendChild(new Option(n.data.id + " (" + n.data.type + ")", String(n.id)));
    });
    pick.value = keep && nodes()[keep] ? String(keep) : "";
  }

  function select(nodeId) {
    selected = nodeId && nodes()[nodeId] ? Number(nodeId) : null;
    document.querySelectorAll(".drawflow-node.blk-current").forEach((el) => el.classList.remove("blk-current"));
    if (selected !== null) document.getElementById("node-" + selected).classList.add("blk-current");
    pick.value = selected === null ? "" : String(selected);
    buildPanel();
  }

  function field(label, input, hint) {
    const wrap = document.createElement("div");
    wrap.className = "field";
    const id = "f-" + label.replace(/\W+/g, "-");
    input.id = id;
    const lab = document.createElement("label");
    lab.htmlFor = id;
    lab.textContent = label;
    if (input.type === "checkbox") {
      wrap.classList.add("field-check");
      wrap.append(input, lab);
    } else {
      wrap.append(lab, input);
    }
    if (hint) {
      const small = document.createElement("small");
      small.className = "hint";
      small.textContent = hint;
      wrap.appendChild(small);
    }
    return wrap;
  }

  function inputFor(spec, value) {
    let el;
    if (spec.choices.length) {
      el = document.createElement("select");
      if (spec.optional) el.appendChild(new Option("(not set)", ""));
      spec.choices.forEach((c) => el.appendChild(new Option(c, c)));
      el.value = value === null || value === undefined ? "" : String(value);
    } else if (spec.kind === "bool") {
      el = document.createElement("input");
      el.type = "checkbox";
      el.checked = Boolean(value);
    } else if (spec.kind === "int" || spec.kind === "float") {
      el = document.createElement("input");
      el.type = "number";
      el.step = spec.kind === "int" ? "1" : "any";
      el.inputMode = spec.kind === "int" ? "numeric" : "decimal";
      el.value = value === null || value === undefined ? "" : String(value);
    } else {
      el = document.createElement("input");
      el.type = "text";
      el.maxLength = 300;
      el.value = value === null || value === undefined ? "" : String(value);
    }
    el.name = spec.name;
    el.dataset.kind = spec.kind;
    if (spec.required) el.required = true;
    return el;
  }

  function readInput(el, spec) {
    if (el.type === "checkbox") return el.checked;
    const raw = el.value.trim();
    if (raw === "") return spec.optional ? null : undefined;
    if (spec.kind === "int") return /^-?\d+$/.test(raw) ? Number(raw) : raw;
    if (spec.kind === "float") return isFinite(Number(raw)) ? Number(raw) : raw;
    return raw;
  }

  function hintOf(spec) {
    const parts = [];
    if (spec.required) parts.push("required");
    else if (spec.default !== null) parts.push("default " + spec.default);
    else parts.push("optional");
    return parts.join("; ");
  }

  function buildPanel() {
    form.textContent = "";
    if (selected === null) {
      const p = document.createElement("p");
      p.className = "empty";
      p.textContent = "Select a block on the canvas to set it.";
      form.appendChild(p);
      return;
    }
    const node = editor.getNodeFromId(selected);
    const data = node.data;
    const about = document.createElement("p");
    about.className = "hint";
    about.textContent = data.type + ": " + types[data.type].about;
    form.appendChild(about);

    const name = document.createElement("input");
    name.type = "text";
    name.maxLength = 64;
    name.value = data.id;
    name.addEventListener("change", () => {
      const value = name.value.trim();
      if (!value) { name.value = data.id; return; }
      update((d) => { d.id = value; });
    });
    form.appendChild(field("Name", name, "letters, digits, _ and -; starts with a letter"));

    let specs = types[data.type].settings;
    if (data.type === "Input") {
      const kind = document.createElement("select");
      palette.encoders.forEach((e) => kind.appendChild(new Option(e.kind + " — " + e.about, e.kind)));
      kind.value = data.settings.kind || "words";
      kind.name = "kind";
      kind.addEventListener("change", () => {
        update((d) => { d.settings = { kind: kind.value, ...defaults(encoders[kind.value].settings) }; });
        buildPanel();
      });
      form.appendChild(field("Encoder", kind, "the [encoder] table: how texts become the input"));
      specs = encoders[data.settings.kind || "words"].settings;
    }
    specs.forEach((spec) => {
      const el = inputFor(spec, data.settings[spec.name]);
      el.addEventListener("change", () => {
        const value = readInput(el, spec);
        update((d) => {
          if (value === undefined) delete d.settings[spec.name];
          else d.settings[spec.name] = value;
        });
      });
      form.appendChild(field(spec.name.replace(/_/g, " "), el, hintOf(spec)));
    });

    if (types[data.type].inputs !== "none") form.appendChild(wiring(node));

    const copyBox = document.createElement("input");
    copyBox.type = "checkbox";
    copyBox.checked = marked.has(selected);
    copyBox.addEventListener("change", () => mark(selected, copyBox.checked));
    form.appendChild(field("Marked to copy with others", copyBox, "Shift+click marks blocks on the canvas; Copy takes the selected and the marked blocks, with their wires"));
  }

  // the block's inputs as checkboxes: wiring without a mouse
  function wiring(node) {
    const set = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = "Takes input from";
    set.appendChild(legend);
    const current = node.inputs.input_1.connections.map((c) => String(c.node));
    Object.values(nodes()).sort((a, b) => a.id - b.id).forEach((other) => {
      if (other.id === node.id || !types[other.data.type].output) return;
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = current.includes(String(other.id));
      box.addEventListener("change", () => {
        if (box.checked) editor.addConnection(other.id, node.id, "output_1", "input_1");
        else editor.removeSingleConnection(other.id, node.id, "output_1", "input_1");
      });
      const f = field("from " + other.data.id, box);
      f.id = "wire-" + other.data.id;
      set.appendChild(f);
    });
    return set;
  }

  function update(change) {
    const node = editor.getNodeFromId(selected);
    const data = JSON.parse(JSON.stringify(node.data));
    change(data);
    editor.updateNodeDataFromId(selected, data);
    paint(selected);
    refreshPick();
    scheduleCheck();
  }

  // -- adding, copying, pasting, deleting ----------------------------------------------------------

  // where a new block goes: right of the selected block (or of the rightmost one), on the next
  // row when that is past the visible board
  function freePlace() {
    const all = Object.values(nodes());
    if (!all.length) return [30, 30];
    const box = document.getElementById("drawflow");
    const visible = (box.clientWidth / 2 - editor.canvas_x) / editor.zoom + box.clientWidth / 2;
    const from = selected !== null && nodes()[selected]
      ? nodes()[selected]
      : all.reduce((a, b) => (b.pos_y > a.pos_y || (b.pos_y === a.pos_y && b.pos_x > a.pos_x) ? b : a));
    let [x, y] = [from.pos_x + COL_W, from.pos_y];
    if (x + NODE_W > visible) [x, y] = [30, Math.max(...all.map((n) => n.pos_y)) + ROW_H];
    while (all.some((n) => Math.abs(n.pos_x - x) < NODE_W && Math.abs(n.pos_y - y) < ROW_H - 30)) y += ROW_H;
    return [x, y];
  }

  function add(type) {
    const [x, y] = freePlace();
    const id = addBlock(type, null, null, x, y);
    refreshPick();
    select(id);
    scheduleCheck();
    return id;
  }

  // Copy: the selected block and the marked ones (Shift+click), with the wires between them; a
  // paste lays the copies below and keeps their wires, and their inputs from outside the group
  // (seed 000: a Conv1D and its pooling copied, pasted three times, each arm fed by the Dropout)
  function copy() {
    const ids = new Set(marked);
    if (selected !== null) ids.add(selected);
    if (!ids.size) return say("Select a block to copy (Shift+click marks more).");
    const all = nodes();
    const group = [...ids].filter((id) => all[id]).sort((a, b) => a - b).map((id) => {
      const n = all[id];
      return {
        node: String(n.id),
        type: n.data.type,
        settings: JSON.parse(JSON.stringify(n.data.settings)),
        inputs: n.inputs.input_1 ? n.inputs.input_1.connections.map((c) => String(c.node)) : [],
        x: n.pos_x,
        y: n.pos_y,
      };
    });
    clipboard = { blocks: group };
    pasteShift = 0;
    [...marked].forEach((id) => mark(id, false)); // the clipboard holds the group now
    say("Copied " + group.map((b) => all[b.node].data.id).join(", ") + ".");
    if (selected !== null) buildPanel();
  }

  function paste() {
    if (!clipboard) return say("Copy a block first (select it, then Copy or Ctrl+C).");
    pasteShift += 1;
    const group = clipboard.blocks;
    const top = Math.min(...group.map((b) => b.y));
    const bottom = Math.max(...group.map((b) => b.y));
    const below = Math.max(...Object.values(nodes()).map((n) => n.pos_y), bottom) + ROW_H;
    const made = {};
    loading = true; // one check for the whole paste
    group.forEach((b) => {
      made[b.node] = addBlock(b.type, JSON.parse(JSON.stringify(b.settings)), null, b.x, below + b.y - top);
    });
    const all = nodes();
    group.forEach((b) => {
      b.inputs.forEach((source) => {
        const from = made[source] || (all[source] ? Number(source) : null);
        if (from !== null) editor.addConnection(from, made[b.node], "output_1", "input_1");
      });
    });
    loading = false;
    refreshPick();
    select(made[group[group.length - 1].node]);
    say("Pasted " + group.map((b) => editor.getNodeFromId(made[b.node]).data.id).join(", ") + ".");
    scheduleCheck();
  }

  function mark(nodeId, on) {
    const id = Number(nodeId);
    if (on) marked.add(id);
    else marked.delete(id);
    const el = document.getElementById("node-" + id);
    if (el) el.classList.toggle("blk-marked", on);
  }

  function remove() {
    if (selected === null) return say("Select a block to delete.");
    editor.removeNodeId("node-" + selected);
  }

  function say(text) {
    status.className = "check";
    status.textContent = text;
  }

  // -- events ----------------------------------------------------------------------------------

  // Shift+click on a block marks it (or unmarks it) for copying with the selected one; seen
  // before Drawflow's own mousedown selects the clicked block, so the one selected before is
  // marked too
  function board_marks() {
    document.getElementById("drawflow").addEventListener("mousedown", (event) => {
      const el = event.target.closest(".drawflow-node");
      if (!event.shiftKey || !el) return;
      const id = Number(el.id.slice(5));
      if (selected !== null && selected !== id) mark(selected, true);
      mark(id, !marked.has(id));
    }, true);
  }

  editor.on("nodeSelected", (id) => select(id));
  board_marks();
  editor.on("nodeRemoved", (id) => {
    marked.delete(Number(id));
    if (String(selected) === String(id)) select(null);
    refreshPick();
    scheduleCheck();
  });
  ["connectionCreated", "connectionRemoved"].forEach((event) => editor.on(event, () => {
    if (selected !== null && !loading) buildPanel();
    scheduleCheck();
  }));

  document.querySelectorAll(".block-button").forEach((button) => {
    button.addEventListener("click", () => add(button.dataset.type));
    button.addEventListener("dragstart", (event) => {
      event.dataTransfer.setData("text/x-critic-block", button.dataset.type);
    });
  });
  const board = document.getElementById("drawflow");
  board.addEventListener("dragover", (event) => event.preventDefault());
  board.addEventListener("drop", (event) => {
    event.preventDefault();
    const type = event.dataTransfer.getData("text/x-critic-block");
    if (!types[type]) return;
    const rect = editor.precanvas.getBoundingClientRect();
    const id = addBlock(type, null, null, (event.clientX - rect.x) / editor.zoom, (event.clientY - rect.y) / editor.zoom);
    refreshPick();
    select(id);
    scheduleCheck();
  });

  pick.addEventListener("change", () => select(pick.value ? Number(pick.value) : null));
  document.getElementById("copy").addEventListener("click", copy);
  document.getElementById("paste").addEventListener("click", paste);
  document.getElementById("remove").addEventListener("click", remove);
  document.getElementById("fit").addEventListener("click", fit);
  document.getElementById("zoom-in").addEventListener("click", () => editor.zoom_in());
  document.getElementById("zoom-out").addEventListener("click", () => editor.zoom_out());
  document.getElementById("relayout").addEventListener("click", async () => {
    // the server's layout (columns by depth), the graph otherwise unchanged
    const canvas = canvasJson();
    const depth = {};
    const rows = {};
    const order = [...canvas.blocks];
    let progress = true;
    while (progress) { // depth = 1 + the deepest input; blocks in a circle stay at 0
      progress = false;
      order.forEach((b) => {
        const d = b.inputs.length ? 1 + Math.max(...b.inputs.map((i) => depth[i] ?? -1)) : 0;
        if (d !== depth[b.id] && d < order.length) { depth[b.id] = d; progress = true; }
      });
    }
    order.forEach((b) => {
      b.column = depth[b.id] || 0;
      rows[b.column] = (rows[b.column] ?? -1) + 1;
      b.row = rows[b.column];
    });
    const keep = selected;
    draw(canvas);
    if (keep !== null) select(null);
  });

  // Ctrl+C / Ctrl+V copy and paste the selected block (not while typing in a field)
  document.addEventListener("keydown", (event) => {
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(event.target.tagName);
    if (typing || !(event.ctrlKey || event.metaKey)) return;
    if (event.key === "c" && selected !== null) { copy(); event.preventDefault(); }
    if (event.key === "v" && clipboard) { paste(); event.preventDefault(); }
  });

  // -- saving ----------------------------------------------------------------------------------

  const saveForm = document.getElementById("save-form");
  saveForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const alert = saveForm.querySelector("[data-error]");
    const button = document.getElementById("save");
    critic.clearError(alert);
    button.disabled = true;
    try {
      const name = document.getElementById("graph-name").value.trim();
      const answer = await critic.api("POST", "/models/graphs", { name, canvas: canvasJson() });
      document.getElementById("saved-path").textContent = answer.path;
      document.getElementById("saved-command").textContent = answer.command;
      document.getElementById("saved-train").href = answer.train_url;
      document.getElementById("saved").hidden = false;
      history.replaceState(null, "", answer.url);
    } catch (failure) {
      document.getElementById("saved").hidden = true;
      critic.showError(alert, failure);
    } finally {
      button.disabled = false;
    }
  });

  draw(start);
  if (!start.blocks.length) say("An empty canvas: add an Input block first, then the blocks after it.");
})();
