// @ts-check
/** The annotate page: image, mask, tools, display controls, save and "Accept & next". */
import { ApiError, getJson, request } from "../lib/api.js";
import { h, notice } from "../lib/dom.js";
import { nextImage, listModels } from "../lib/loop.js";
import { decodePng, encodeLabelPng } from "../lib/png.js";
import { defaultSettings } from "../annotate/display.js";
import { displayCanvas, displayPanel } from "../annotate/display-panel.js";
import { Editor } from "../annotate/editor.js";
import { shortcutHandler } from "../annotate/keys.js";
import { loadInitialMask, loadProposal, loadRaster } from "../annotate/loading.js";
import { LabelMask } from "../annotate/mask.js";
import { Overlay, confidenceCanvas, makePalette } from "../annotate/overlay.js";
import { Stage } from "../annotate/stage.js";
import { shortcutsDialog } from "./shortcuts.js";

/** @typedef {import("../app.js").App} App */

/**
 * @param {HTMLElement} root @param {App} app @param {number} imageId
 */
export async function annotateView(root, app, imageId) {
  root.replaceChildren(h("div", { class: "page-loading" }, "Loading image…"));
  const image = await getJson(`/images/${imageId}`);
  const [collection, loaded, initial] = await Promise.all([
    getJson(`/collections/${image.collection_id}`),
    loadRaster(image),
    loadInitialMask(image),
  ]);
  const models = await listModels(collection.id).catch(() => null);
  const readOnly = app.user?.role === "viewer";
  const kind = collection.kind;
  const classes = collection.classes;
  const { width, height } = image;
  const { raster } = loaded;

  if (initial.labels && initial.labels.length !== width * height) {
    initial.warning = "The stored mask does not match the image's size; starting from an empty mask.";
    initial.labels = null;
  }
  const mask = new LabelMask(width, height, initial.labels ?? undefined);
  const overlay = new Overlay(width, height, mask.data, makePalette(kind, classes));
  const display = displayCanvas(raster);
  const settings = defaultSettings(raster, loaded.rgb);
  display.render(settings);

  const stageHost = h("div", { class: "stage-host" });
  const page = h("div", { class: "annotate" });
  root.replaceChildren(page);
  const stage = new Stage(stageHost, width, height);
  const maskLayer = { source: overlay.canvas, alpha: 0.5, visible: true };
  /** @type {{source: CanvasImageSource, alpha: number, visible: boolean}} */
  const confLayer = { source: document.createElement("canvas"), alpha: 0.7, visible: false };
  const selectionLayer = { source: overlay.selectionCanvas, alpha: 1, visible: true };
  stage.layers = [{ source: display.canvas, alpha: 1, visible: true }, maskLayer, selectionLayer, confLayer];
  overlay.repaintAll();
  const editor = new Editor({ stage, mask, overlay, kind, readOnly });
  /** @type {any} */ (window).maskloopEditor = editor; // for benchmarks and debugging
  if (initial.objectClasses) for (const [id, c] of Object.entries(initial.objectClasses)) editor.objectClasses.set(Number(id), c);

  /**
   * The version this page edits from, sent as base_version so that a save never silently replaces
   * one made meanwhile (another annotator, another tab); null while the image has none.
   */
  let baseVersion = initial.source === "annotation" ? initial.version : null;
  /** The undo-stack head when the mask was last saved or opened: different means unsaved. */
  /** @type {any} */
  let savedHead = mask.head;
  /** The edit "Load proposal" made and its model: the save credits the model while it is not undone. */
  /** @type {any} */
  let proposalEdit = null;
  /** @type {number | null} */
  let proposalEditModelId = null;
  /** @type {Promise<boolean> | null} the save under way; a second press waits for it */
  let saving = null;
  /** Accept & next under way (save, then find the next image): a second Enter must not start another. */
  let advancing = false;
  /** Set by destroy(): the continuations of a save or Accept & next still under way do nothing. */
  let destroyed = false;
  let activeMs = 0;
  let activeSince = performance.now();
  const elapsed = () => (activeMs + (document.hidden ? 0 : performance.now() - activeSince)) / 1000;
  const onVisibility = () => {
    if (document.hidden) activeMs += performance.now() - activeSince;
    else activeSince = performance.now();
  };
  document.addEventListener("visibilitychange", onVisibility);
  const isDirty = () => mask.head !== savedHead;
  /** The model whose proposal the mask comes from: a loaded proposal still in the undo stack, else
   * the proposal the page opened on. Undoing "Load proposal" takes the credit back. */
  const proposalModelId = () => {
    if (proposalEdit && mask.undoStack.includes(proposalEdit)) return proposalEditModelId;
    return initial.source === "proposal" ? initial.modelId : null;
  };

  // ---- top bar
  const versionOf = (/** @type {number | null} */ id) => {
    const m = models?.find((x) => x.id === id);
    return m ? `v${m.version}` : id ? `#${id}` : "";
  };
  const modelText = () => {
    const fromModel = proposalModelId();
    const active = models?.find((m) => m.status === "active");
    if (fromModel && (isDirty() || !baseVersion)) return `proposal from model ${versionOf(fromModel)}`;
    if (baseVersion) return `saved annotation v${baseVersion}${active ? ` · active model v${active.version}` : ""}`;
    return active ? `active model v${active.version} (no proposal)` : "no model yet";
  };
  const modelBadge = h("span", { class: "badge model", "data-testid": "model-version", title: "Where the mask shown started from" }, modelText());
  const dirtyBadge = h("span", { class: "dirty", "data-testid": "dirty" });
  const message = h("span", { class: "message", "data-testid": "status-message", role: "status" });
  // "Save anyway" appears when someone else saved this image since it was opened (409).
  const conflictBox = h("span", { class: "conflict" });
  const say = (/** @type {string} */ text, kind2 = "info") => {
    message.textContent = text;
    message.title = text; // long messages are cut to one line
    message.className = `message ${kind2}`;
    conflictBox.replaceChildren();
  };
  editor.onMessage = (t) => say(t);

  const saveButton = h("button", { type: "button", "data-testid": "save", title: "Save (Ctrl+S)", onclick: () => save() }, "Save");
  const nextButton = h("button", { type: "button", class: "primary", "data-testid": "save-next", title: "Save and open the next image (Enter)", onclick: () => acceptAndNext() }, "Accept & next ⏎");
  const statusBadge = h("span", { class: `badge status-${image.status}`, "data-testid": "image-status" }, image.status);
  const top = h("div", { class: "annotate-top" },
    h("a", { href: `#/collections/${collection.id}`, class: "crumb" }, collection.name),
    h("span", { class: "sep" }, "›"),
    h("span", { class: "filename", title: image.filename }, image.filename),
    statusBadge,
    modelBadge, dirtyBadge,
    h("span", { class: "spacer" }),
    message, conflictBox,
    readOnly ? h("span", { class: "badge" }, "read-only") : [saveButton, nextButton]);

  // ---- tools
  /** @type {Record<string, HTMLElement>} */
  const toolButtons = {};
  const toolButton = (/** @type {import("../annotate/editor.js").Tool} */ tool, label, key, title) => {
    const b = h("button", { type: "button", class: "tool", "data-testid": `tool-${tool}`, title: `${title} (${key})`, onclick: () => editor.setTool(tool) },
      h("span", { class: "tool-label" }, label), h("kbd", {}, key));
    toolButtons[tool] = b;
    return b;
  };
  const sizeInput = /** @type {HTMLInputElement} */ (h("input", { type: "number", min: "1", max: "256", value: String(editor.brushSize), "data-testid": "brush-size", title: "Brush size in image pixels ([ and ])" }));
  sizeInput.addEventListener("input", () => { const v = Number(sizeInput.value); if (v >= 1) editor.setBrushSize(v); });
  const undoButton = h("button", { type: "button", "data-testid": "undo", title: "Undo (Ctrl+Z)", onclick: () => editor.undo() }, "↶ Undo");
  const redoButton = h("button", { type: "button", "data-testid": "redo", title: "Redo (Ctrl+Shift+Z)", onclick: () => editor.redo() }, "↷ Redo");
  const zoomIn = () => stage.zoomAt(1.25, (stage.cssWidth ?? 0) / 2, (stage.cssHeight ?? 0) / 2);
  const zoomOut = () => stage.zoomAt(0.8, (stage.cssWidth ?? 0) / 2, (stage.cssHeight ?? 0) / 2);
  const zoomLabel = h("span", { class: "zoom-label", "data-testid": "zoom-label" });
  const toolbar = h("div", { class: "toolbar" },
    readOnly ? null : [
      h("div", { class: "group-title" }, "Tools"),
      toolButton("brush", "Brush", "B", "Paint the current class / object"),
      toolButton("eraser", "Eraser", "E", kind === "instance" ? "Erase the selected object; hold Shift to erase any object" : "Erase to background"),
      toolButton("fill", "Fill", "F", kind === "instance" ? "Flood-fill a background region with the current object" : "Flood-fill a connected region with the current class"),
      toolButton("polygon", "Polygon", "P", "Click vertices (Enter or double-click closes) or drag a lasso"),
      kind === "instance" ? toolButton("select", "Select", "S", "Click an object to select it") : null,
      h("label", { class: "size" }, h("span", {}, "Size"), sizeInput),
      h("div", { class: "group-title" }, "History"), undoButton, redoButton,
    ],
    h("div", { class: "group-title" }, "View"),
    h("div", { class: "zoom-row" },
      h("button", { type: "button", title: "Zoom in (+)", "data-testid": "zoom-in", onclick: zoomIn }, "+"),
      h("button", { type: "button", title: "Zoom out (-)", "data-testid": "zoom-out", onclick: zoomOut }, "−"),
      h("button", { type: "button", title: "Fit (0)", "data-testid": "zoom-fit", onclick: () => stage.fit() }, "Fit")),
    zoomLabel,
    h("button", { type: "button", class: "help", title: "Keyboard shortcuts (?)", "data-testid": "show-shortcuts", onclick: () => toggleHelp() }, "? Keys"));

  // ---- labels panel
  const classSelect = /** @type {HTMLSelectElement} */ (h("select", { "data-testid": "class-select", title: "Class (number keys 1-9)" },
    classes.map((c, i) => h("option", { value: String(i + 1) }, `${i + 1} · ${c.name}`))));
  classSelect.addEventListener("change", () => setClass(Number(classSelect.value)));
  const swatches = h("div", { class: "swatches" }, classes.map((c, i) => h("button", {
    type: "button", class: "swatch", title: `${c.name} (${i + 1})`, style: { background: c.color },
    onclick: () => setClass(i + 1),
  }, String(i + 1))));
  const objectInfo = h("div", { class: "object-info", "data-testid": "current-object" });
  const labelsPanel = h("section", { class: "panel" },
    h("h3", {}, kind === "instance" ? "Objects" : "Classes"),
    readOnly ? null : h("div", { class: "row" }, h("span", { class: "lbl" }, kind === "instance" ? "class" : "paint"), classSelect),
    readOnly ? null : swatches,
    kind === "instance" && !readOnly ? [
      objectInfo,
      h("div", { class: "row buttons" },
        h("button", { type: "button", "data-testid": "new-object", title: "New object (N)", onclick: () => editor.newObject() }, "New object"),
        h("button", { type: "button", "data-testid": "delete-object", title: "Delete the selected object (Delete)", onclick: () => editor.deleteObject() }, "Delete object")),
    ] : null,
    readOnly ? h("ul", { class: "legend" }, classes.map((c) => h("li", {}, h("i", { style: { background: c.color } }), c.name))) : null);

  // ---- overlay panel
  const opacity = /** @type {HTMLInputElement} */ (h("input", { type: "range", min: "0", max: "1", step: "0.05", value: String(maskLayer.alpha), "data-testid": "opacity" }));
  opacity.addEventListener("input", () => { maskLayer.alpha = Number(opacity.value); stage.invalidate(); });
  const check = (/** @type {string} */ label, /** @type {string} */ testid, /** @type {boolean} */ on, /** @type {(v: boolean) => void} */ fn, /** @type {string} */ title) => {
    const box = /** @type {HTMLInputElement} */ (h("input", { type: "checkbox", checked: on, "data-testid": testid }));
    box.addEventListener("change", () => fn(box.checked));
    return { box, el: h("label", { class: "row check", title }, box, label) };
  };
  const showMask = check("show mask", "show-mask", true, (v) => { maskLayer.visible = selectionLayer.visible = v; stage.invalidate(); }, "H");
  const outline = check("outlines only", "outline", false, (v) => { overlay.outline = v; overlay.repaintAll(); stage.invalidate(); }, "O");
  const confidence = check("confidence map", "confidence", false, (v) => setConfidence(v), "C: magenta where the model is unsure");
  const proposalButton = h("button", { type: "button", "data-testid": "load-proposal", title: "Replace the mask by the model's proposal (undoable)", onclick: () => replaceByProposal() }, "Load proposal");
  // When a proposal is mostly wrong (objects on debris or texture), drawing from an empty mask
  // is less work than deleting its objects one by one.
  const clearButton = h("button", { type: "button", "data-testid": "clear-mask", title: "Remove every object and start from an empty mask (undoable)", onclick: () => clearMask() }, "Clear mask");
  const overlayPanel = h("section", { class: "panel" }, h("h3", {}, "Overlay"),
    h("label", { class: "row" }, h("span", { class: "lbl" }, "opacity"), opacity),
    showMask.el, outline.el, confidence.el,
    readOnly ? null : h("div", { class: "row buttons" }, proposalButton, clearButton));

  // ---- display panel and info
  const displayEl = displayPanel(raster, settings, () => { display.render(settings); stage.invalidate(); });
  const info = h("section", { class: "panel info" }, h("h3", {}, "Image"),
    h("dl", {},
      h("dt", {}, "size"), h("dd", {}, `${width} × ${height}`),
      h("dt", {}, "type"), h("dd", {}, `${image.dtype}, ${image.channels} channel${image.channels > 1 ? "s" : ""}`),
      h("dt", {}, "shown"), h("dd", { "data-testid": "display-source" }, loaded.source),
      h("dt", {}, "mask"), h("dd", {}, kind)));
  const side = h("aside", { class: "side" }, labelsPanel, overlayPanel,
    h("section", { class: "panel" }, h("h3", {}, "Display"), displayEl), info);

  const cursorText = h("span", { class: "cursor", "data-testid": "cursor" }, "");
  const statusbar = h("div", { class: "statusbar" }, cursorText, h("span", { class: "spacer" }),
    h("span", { class: "hint" }, readOnly ? "View only · wheel zooms, space+drag pans · ? for keys" : "Wheel zooms · space+drag or middle button pans · ? for keys"));
  page.append(top, h("div", { class: "annotate-main" }, toolbar, stageHost, side), statusbar);
  // Shortcuts must keep working after a click on a button (Enter must not re-press "Undo").
  const refocus = (/** @type {Event} */ e) => {
    const t = /** @type {HTMLElement} */ (e.target);
    if (t.closest(".modal")) return;
    const type = t.tagName === "INPUT" ? /** @type {HTMLInputElement} */ (t).type : "";
    const done = e.type === "click" ? t.closest("button") || type === "checkbox" : t.tagName === "SELECT" || type === "range" || type === "color";
    if (done) stage.canvas.focus({ preventScroll: true });
  };
  page.addEventListener("click", refocus);
  page.addEventListener("change", refocus);
  stage.resize();
  stage.fit();

  // ---- state sync
  function sync() {
    for (const [tool, b] of Object.entries(toolButtons)) b.setAttribute("aria-pressed", String(editor.tool === tool));
    sizeInput.value = String(editor.brushSize);
    undoButton.toggleAttribute("disabled", !mask.undoStack.length);
    redoButton.toggleAttribute("disabled", !mask.redoStack.length);
    classSelect.value = String(editor.currentClass);
    swatches.querySelectorAll(".swatch").forEach((s, i) => s.classList.toggle("on", i + 1 === editor.currentClass));
    objectInfo.textContent = editor.currentObject ? `current object: ${editor.currentObject}` : "no object selected — brush starts a new one";
    dirtyBadge.textContent = isDirty() ? "● unsaved" : "";
    modelBadge.textContent = modelText();
    zoomLabel.textContent = `${Math.round(stage.zoom * 1000) / 10}%`;
    stage.canvas.dataset.tool = editor.tool;
  }
  editor.onChange = sync;
  stage.onView = () => { zoomLabel.textContent = `${Math.round(stage.zoom * 1000) / 10}%`; };
  editor.onCursor = (x, y) => {
    if (x < 0 || y < 0 || x >= width || y >= height) { cursorText.textContent = ""; return; }
    const i = y * width + x;
    const values = raster.channels.map((p) => (raster.float ? p[i].toPrecision(4) : p[i])).join(", ");
    cursorText.textContent = `x ${x}  y ${y}  ·  value ${values}  ·  label ${mask.data[i]}`;
  };
  sync();

  /** @param {number} c */
  function setClass(c) {
    if (c < 1 || c > classes.length) return;
    editor.currentClass = c;
    if (kind === "instance" && editor.currentObject) editor.objectClasses.set(editor.currentObject, c);
    sync();
  }

  let confLoaded = false;
  /** @param {boolean} on */
  async function setConfidence(on) {
    confidence.box.checked = on;
    if (on && !confLoaded) {
      try {
        const raster2 = await decodePng(await (await request(`/images/${image.id}/confidence`)).arrayBuffer());
        confLayer.source = confidenceCanvas(raster2.channels[0], width, height);
        confLoaded = true;
      } catch (e) {
        say(e instanceof ApiError && e.status === 404 ? "No confidence map: no model yet." : `Confidence map: ${e instanceof Error ? e.message : e}`, "error");
        confidence.box.checked = false;
        return;
      }
    }
    confLayer.visible = on;
    stage.invalidate();
  }

  function clearMask() {
    const whole = { x0: 0, y0: 0, x1: width, y1: height };
    mask.begin();
    mask.touch(whole);
    mask.data.fill(0);
    editor.finishEdit(whole, "clear mask");
    // The proposal the annotator started from stays recorded: a cleared proposal is exactly the
    // case the service counts as "worse than empty".
    say("Mask cleared; Ctrl+Z brings it back.", "ok");
  }

  async function replaceByProposal() {
    say("Loading the proposal…");
    try {
      const proposal = await loadProposal(image);
      if (destroyed) return;
      if (!proposal) { say("No proposal: the collection has no model yet.", "error"); return; }
      const before = mask.head;
      mask.begin();
      mask.touch({ x0: 0, y0: 0, x1: width, y1: height });
      mask.data.set(proposal.labels);
      editor.finishEdit({ x0: 0, y0: 0, x1: width, y1: height }, "proposal");
      if (mask.head === before) { say("The proposal is the mask already shown.", "ok"); return; }
      proposalEdit = mask.head;
      proposalEditModelId = proposal.modelId;
      sync();
      say(`Proposal from model ${versionOf(proposal.modelId)} loaded; Ctrl+Z brings the previous mask back.`, "ok");
    } catch (e) {
      say(e instanceof Error ? e.message : String(e), "error");
    }
  }

  /**
   * Save the mask as a new version, unless it is unchanged since it was saved or opened.
   * @param {number | null} base the version edited from; "Save anyway" passes the latest one
   * @returns {Promise<boolean>} true when the mask shown is saved
   */
  function save(base = baseVersion) {
    if (readOnly || destroyed) return Promise.resolve(false);
    if (saving) return saving;
    saving = send(base).finally(() => { saving = null; });
    return saving;
  }

  /** @param {number | null} base @returns {Promise<boolean>} */
  async function send(base) {
    if (!isDirty() && baseVersion) {
      // Saving the same mask again would only add a duplicate version (and count twice for retraining).
      say(`Nothing to save: version ${baseVersion} is unchanged.`, "ok");
      return true;
    }
    say("Saving…");
    try {
      const head = mask.head;
      const blob = await encodeLabelPng(mask.data, width, height);
      const form = new FormData();
      form.append("mask", blob, "mask.png");
      const modelId = proposalModelId();
      if (modelId) form.append("proposal_model_id", String(modelId));
      form.append("base_version", String(base ?? 0));
      form.append("seconds_spent", elapsed().toFixed(1));
      if (kind === "instance" && classes.length > 1) {
        /** @type {Record<string, number>} */
        const objects = {};
        for (const id of mask.labels()) {
          const c = editor.objectClasses.get(id) ?? 1;
          objects[String(id)] = c >= 1 && c <= classes.length ? c : 1;
        }
        form.append("object_classes", JSON.stringify(objects));
      }
      const result = await getJson(`/images/${image.id}/annotation`, { method: "PUT", body: form });
      if (destroyed) return false;
      savedHead = head;
      baseVersion = result.version;
      statusBadge.textContent = "labeled";
      statusBadge.className = "badge status-labeled";
      activeMs = 0;
      activeSince = performance.now();
      say(`Saved version ${result.version}.`, "ok");
      sync();
      return true;
    } catch (e) {
      if (destroyed) return false;
      say(`Not saved: ${e instanceof Error ? e.message : e}`, "error");
      const latest = e instanceof ApiError && e.status === 409 ? Number(e.headers.get("X-Annotation-Version")) : 0;
      if (latest) {
        // Someone saved this image since it was opened: keep the mask (still unsaved), and let the
        // annotator either reload to see that version or replace it knowingly.
        message.classList.add("wrap"); // who saved which version when: all of it must be read
        conflictBox.replaceChildren(h("button", {
          type: "button", class: "danger small", "data-testid": "save-anyway",
          title: `Save this mask as the next version, after version ${latest}`,
          onclick: () => { save(latest); },
        }, "Save anyway"));
      }
      return false;
    }
  }

  async function acceptAndNext() {
    if (advancing || destroyed) return;
    advancing = true;
    try {
      let saved = await save();
      // Edits made while an earlier save was under way are not in it yet.
      if (saved && isDirty()) saved = await save();
      if (!saved || destroyed) return;
      const next = await nextImage(collection.id, sessionStorage.getItem(`strategy:${collection.id}`) || "", image.id);
      if (destroyed) return;
      if (next) app.navigate(`#/annotate/${next.id}`);
      else { say("Saved. No image is left to annotate in this collection.", "ok"); }
    } catch (e) {
      if (!destroyed) say(`Saved, but the next image could not be found: ${e instanceof Error ? e.message : e}`, "error");
    } finally {
      advancing = false;
    }
  }

  let help = /** @type {HTMLElement | null} */ (null);
  function toggleHelp() {
    if (help) { help.remove(); help = null; return; }
    help = shortcutsDialog(kind, () => { help?.remove(); help = null; });
    page.append(help);
  }

  const instance = kind === "instance";
  /** @type {import("../annotate/keys.js").Binding[]} */
  const bindings = [
    { keys: ["z"], ctrl: true, shift: false, edits: true, run: () => editor.undo() },
    { keys: ["z"], ctrl: true, shift: true, edits: true, run: () => editor.redo() },
    { keys: ["y"], ctrl: true, edits: true, run: () => editor.redo() },
    { keys: ["s"], ctrl: true, edits: true, run: () => { save(); } },
    { keys: ["?"], run: toggleHelp },
    { keys: ["Escape"], run: () => { if (help) toggleHelp(); else editor.cancelPolygon(); } },
    { keys: [" "], run: () => { editor.spaceDown = true; stage.canvas.style.cursor = "grab"; } },
    { keys: ["Enter"], run: () => { if (editor.polygonActive) editor.closePolygon(); else if (!readOnly) acceptAndNext(); } },
    { keys: ["+", "="], run: zoomIn },
    { keys: ["-", "_"], run: zoomOut },
    { keys: ["0"], run: () => stage.fit() },
    { keys: ["h"], run: () => showMask.box.click() },
    { keys: ["o"], run: () => outline.box.click() },
    { keys: ["c"], run: () => { setConfidence(!confidence.box.checked); } },
    { keys: ["a"], run: () => /** @type {any} */ (displayEl).autoContrast() },
    { keys: ["b"], edits: true, run: () => editor.setTool("brush") },
    { keys: ["e"], edits: true, run: () => editor.setTool("eraser") },
    { keys: ["f"], edits: true, run: () => editor.setTool("fill") },
    { keys: ["p"], edits: true, run: () => editor.setTool("polygon") },
    ...(instance ? /** @type {import("../annotate/keys.js").Binding[]} */ ([
      { keys: ["s"], edits: true, run: () => editor.setTool("select") },
      { keys: ["n"], edits: true, run: () => editor.newObject() },
      { keys: ["Delete"], edits: true, run: () => editor.deleteObject() },
    ]) : []),
    { keys: ["Backspace"], edits: true, run: () => { editor.polygon.pop(); stage.redrawCursor(); } },
    { keys: ["["], edits: true, run: () => editor.setBrushSize(editor.brushSize > 10 ? editor.brushSize * 0.85 : editor.brushSize - 1) },
    { keys: ["]"], edits: true, run: () => editor.setBrushSize(editor.brushSize >= 10 ? editor.brushSize * 1.18 : editor.brushSize + 1) },
    { keys: ["1", "2", "3", "4", "5", "6", "7", "8", "9"], edits: true, run: (e) => setClass(Number(e.key)) },
  ];
  const onKey = shortcutHandler(bindings, readOnly);
  /** @param {KeyboardEvent} e */
  function onKeyUp(e) {
    if (e.key === " ") { editor.spaceDown = false; editor.setTool(editor.tool); }
  }
  /** @param {BeforeUnloadEvent} e */
  function onBeforeUnload(e) {
    if (isDirty()) { e.preventDefault(); e.returnValue = ""; }
  }
  window.addEventListener("keydown", onKey);
  window.addEventListener("keyup", onKeyUp);
  window.addEventListener("beforeunload", onBeforeUnload);
  if (initial.source === "proposal") say(`Proposal from model ${versionOf(initial.modelId)} loaded — correct it and press Enter.`);
  if (initial.warning) say(initial.warning, "error");
  if (!classes.length && !readOnly && kind === "semantic") page.prepend(notice("This collection has no classes; an admin must add them before painting.", "error"));
  stage.canvas.focus({ preventScroll: true });

  return {
    isDirty,
    destroy() {
      destroyed = true;
      window.removeEventListener("keydown", onKey);
      window.removeEventListener("keyup", onKeyUp);
      window.removeEventListener("beforeunload", onBeforeUnload);
      document.removeEventListener("visibilitychange", onVisibility);
      stage.destroy();
      if (/** @type {any} */ (window).maskloopEditor === editor) delete (/** @type {any} */ (window).maskloopEditor);
    },
  };
}
