// @ts-check
/** The keyboard shortcuts sheet (`?`). */
import { h } from "../lib/dom.js";

/**
 * @param {"semantic" | "instance"} kind @param {() => void} close
 * @returns {HTMLElement}
 */
export function shortcutsDialog(kind, close) {
  /** @type {[string, string][]} */
  const keys = [
    ["B", "brush"], ["E", kind === "instance" ? "eraser (selected object only; Shift+drag erases any object)" : "eraser"],
    ["F", kind === "instance" ? "flood fill a background region with the current object" : "flood fill (4-connected) with the current class"],
    ["P", "polygon: click vertices, Enter / double-click / click the first vertex closes; drag for a lasso; Backspace removes a vertex; Esc cancels"],
    ["[ / ]", "smaller / larger brush"],
    ["1 – 9", kind === "instance" ? "class of the current object (and of new ones)" : "pick a class"],
    ...(kind === "instance" ? /** @type {[string, string][]} */ ([["N", "new object (next free id)"], ["S", "select an object by clicking it"], ["Delete", "delete the selected object"]]) : []),
    ["Ctrl+Z", "undo"], ["Ctrl+Shift+Z / Ctrl+Y", "redo"],
    ["Ctrl+S", "save"], ["Enter", "accept & next: save, then open the next image"],
    ["wheel / + / −", "zoom (at the cursor / centre)"], ["0", "fit the image"],
    ["Space+drag, middle drag", "pan"],
    ["H", "hide / show the mask"], ["O", "outlines only"], ["C", "confidence map"], ["A", "auto contrast"],
    ["?", "this sheet"], ["Esc", "close"],
  ];
  const dialog = h("div", { class: "modal-backdrop", "data-testid": "shortcuts", onclick: (/** @type {Event} */ e) => { if (e.target === dialog) close(); } },
    h("div", { class: "modal", role: "dialog", "aria-label": "Keyboard shortcuts" },
      h("h2", {}, "Keyboard shortcuts"),
      h("table", { class: "keys" }, keys.map(([k, what]) => h("tr", {}, h("th", {}, h("kbd", {}, k)), h("td", {}, what)))),
      h("p", { class: "muted" }, kind === "instance"
        ? "Instance collections: the brush paints the current object over background and over that object only, so touching strokes never merge objects."
        : "Semantic collections: the brush paints the current class over anything; the eraser sets background."),
      h("div", { class: "row buttons" }, h("button", { type: "button", onclick: close }, "Close"))));
  return dialog;
}
