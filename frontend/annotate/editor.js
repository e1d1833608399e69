// @ts-check
/**
 * The editing tools on the stage: brush, eraser, flood fill, polygon/lasso fill, object selection;
 * pan (space+drag, middle button) and zoom (wheel). Each mouse move edits only the pixels under
 * the brush path and repaints only that rectangle.
 */
import { LabelMask } from "./mask.js";
import { Overlay } from "./overlay.js";
import { Stage } from "./stage.js";

/** @typedef {"brush" | "eraser" | "fill" | "polygon" | "select"} Tool */
/** @typedef {import("./mask.js").Rect} Rect */
/** @typedef {import("./mask.js").Rule} Rule */

/** Timings kept for benchmarks: the most recent ones only. @param {number[]} list @param {number} ms */
function record(list, ms) {
  if (list.length >= 20000) list.splice(0, 10000);
  list.push(ms);
}

/** Close a polygon when a click lands this close (CSS px) to its first vertex. */
const CLOSE_DISTANCE = 7;

export class Editor {
  /**
   * @param {object} o
   * @param {Stage} o.stage @param {LabelMask} o.mask @param {Overlay} o.overlay
   * @param {"semantic" | "instance"} o.kind @param {boolean} o.readOnly
   */
  constructor({ stage, mask, overlay, kind, readOnly }) {
    this.stage = stage;
    this.mask = mask;
    this.overlay = overlay;
    this.kind = kind;
    this.readOnly = readOnly;
    /** @type {Tool} */
    this.tool = "brush";
    this.brushSize = 5;
    /** Semantic: the class painted; instance: the class given to new objects. */
    this.currentClass = 1;
    /** Instance collections: the object painted, 0 before one is chosen. */
    this.currentObject = 0;
    /** @type {Map<number, number>} instance object id -> class index */
    this.objectClasses = new Map();
    this.spaceDown = false;
    /** @type {{x: number, y: number}[]} polygon vertices under construction (image coords) */
    this.polygon = [];
    /** @type {{sx: number, sy: number} | null} last pointer position on the canvas */
    this.hover = null;
    /** @type {null | {kind: "pan", sx: number, sy: number} | {kind: "paint", px: number, py: number, value: number, rule: Rule} | {kind: "lasso", moved: boolean}} */
    this.drag = null;
    /** Pointer events waiting for the frame that shows them (performance.now stamps). */
    this.eventStart = 0;
    /** @type {{eventToFrame: number[], editMs: number[], compositeMs: number[]}} */
    this.perf = { eventToFrame: [], editMs: [], compositeMs: [] };
    /** @type {() => void} after each change of mask or selection */
    this.onChange = () => {};
    /** @type {(text: string) => void} short messages for the status bar */
    this.onMessage = () => {};
    /** @type {(x: number, y: number) => void} cursor position in image pixels */
    this.onCursor = () => {};

    stage.drawCursor = (ctx) => this.drawCursor(ctx);
    stage.onFrame = (ms) => {
      record(this.perf.compositeMs, ms);
      if (this.eventStart) { record(this.perf.eventToFrame, performance.now() - this.eventStart); this.eventStart = 0; }
    };
    const c = stage.canvas;
    c.addEventListener("pointerdown", (e) => this.pointerDown(e));
    c.addEventListener("pointermove", (e) => this.pointerMove(e));
    c.addEventListener("pointerup", (e) => this.pointerUp(e));
    c.addEventListener("pointercancel", (e) => this.pointerUp(e));
    c.addEventListener("pointerleave", () => { this.hover = null; this.stage.redrawCursor(); });
    c.addEventListener("dblclick", (e) => { if (this.tool === "polygon") { e.preventDefault(); this.closePolygon(); } });
    c.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
    c.addEventListener("contextmenu", (e) => e.preventDefault());
    c.addEventListener("auxclick", (e) => e.preventDefault());
  }

  /** @param {Tool} tool */
  setTool(tool) {
    if (this.tool === "polygon" && tool !== "polygon") this.cancelPolygon();
    this.tool = tool;
    this.stage.canvas.style.cursor = tool === "select" ? "pointer" : tool === "fill" ? "cell" : "crosshair";
    this.stage.redrawCursor();
    this.onChange();
  }

  /** @param {number} size */
  setBrushSize(size) {
    this.brushSize = Math.max(1, Math.min(256, Math.round(size)));
    this.stage.redrawCursor();
    this.onChange();
  }

  /** @param {number} sx @param {number} sy */
  pixelAt(sx, sy) {
    const p = this.stage.toImage(sx, sy);
    return { x: Math.floor(p.x), y: Math.floor(p.y) };
  }

  /** The value a paint action writes, creating an object on first use in instance collections. */
  paintValue() {
    if (this.kind === "semantic") return this.currentClass;
    if (!this.currentObject) this.newObject();
    return this.currentObject;
  }

  /** Instance collections: start a new object with the next free id. */
  newObject() {
    if (this.kind !== "instance") return;
    const id = this.mask.max() + 1;
    if (id > 65535) { this.onMessage("No object ids left (65535 objects)."); return; }
    this.currentObject = id;
    this.objectClasses.set(id, this.currentClass);
    this.overlay.selected = 0; // a new object has no pixels yet
    this.onMessage(`New object ${id}`);
    this.onChange();
  }

  /** @param {number} id */
  selectObject(id) {
    const previous = this.overlay.selected;
    this.currentObject = id;
    if (id && this.objectClasses.has(id)) this.currentClass = /** @type {number} */ (this.objectClasses.get(id));
    this.overlay.selected = id;
    if (previous !== id) { this.overlay.repaintAll(); this.stage.invalidate(); }
    this.onMessage(id ? `Object ${id} selected` : "No object selected");
    this.onChange();
  }

  deleteObject() {
    if (this.kind !== "instance" || !this.currentObject || this.readOnly) return;
    this.mask.begin();
    const rect = this.mask.replaceValue(this.currentObject, 0);
    this.finishEdit(rect, "delete object");
    this.onMessage(rect ? `Object ${this.currentObject} deleted` : "The selected object has no pixels");
    this.currentObject = 0;
    this.overlay.selected = 0;
    this.onChange();
  }

  /** @param {Rect | null} rect */
  refresh(rect) {
    if (!rect) return;
    this.overlay.repaint(rect);
    this.stage.invalidateImageRect(rect);
  }

  /** @param {Rect | null} rect @param {string} label */
  finishEdit(rect, label) {
    this.refresh(rect);
    this.mask.commit(label);
    this.onChange();
  }

  undo() {
    if (this.readOnly) return;
    this.cancelPolygon();
    this.drag = null;
    this.refresh(this.mask.undo());
    this.onChange();
  }

  redo() {
    if (this.readOnly) return;
    this.refresh(this.mask.redo());
    this.onChange();
  }

  /** @param {PointerEvent} e */
  pointerDown(e) {
    this.stage.canvas.focus({ preventScroll: true });
    const { sx, sy } = this.stage.eventPoint(e);
    if (e.button === 1 || (e.button === 0 && this.spaceDown)) {
      e.preventDefault();
      this.drag = { kind: "pan", sx, sy };
      this.stage.canvas.setPointerCapture(e.pointerId);
      this.stage.canvas.style.cursor = "grabbing";
      return;
    }
    if (e.button !== 0 || this.readOnly) return;
    const { x, y } = this.pixelAt(sx, sy);
    this.stage.canvas.setPointerCapture(e.pointerId);
    if (this.tool === "brush" || this.tool === "eraser") {
      const eraser = this.tool === "eraser";
      const value = eraser ? 0 : this.paintValue();
      /** @type {Rule} */
      let rule = { mode: "all" };
      if (this.kind === "instance") {
        if (!eraser) rule = { mode: "free", value };
        else if (!e.shiftKey && this.currentObject) rule = { mode: "only", only: this.currentObject };
      }
      this.mask.begin();
      this.drag = { kind: "paint", px: x, py: y, value, rule };
      this.eventStart = this.eventStart || e.timeStamp;
      this.refresh(this.mask.stroke(x, y, x, y, this.brushSize, value, rule));
    } else if (this.tool === "fill") {
      this.fillAt(x, y);
    } else if (this.tool === "select") {
      if (this.kind === "instance" && x >= 0 && y >= 0 && x < this.mask.width && y < this.mask.height) {
        this.selectObject(this.mask.data[y * this.mask.width + x]);
      }
    } else if (this.tool === "polygon") {
      const p = this.stage.toImage(sx, sy);
      if (this.polygon.length >= 3) {
        const f = this.polygon[0];
        const d = Math.hypot((f.x - p.x) * this.stage.zoom, (f.y - p.y) * this.stage.zoom);
        if (d <= CLOSE_DISTANCE) { this.closePolygon(); return; }
      }
      this.polygon.push(p);
      this.drag = { kind: "lasso", moved: false };
      this.stage.redrawCursor();
    }
  }

  /** @param {number} x @param {number} y */
  fillAt(x, y) {
    const { mask } = this;
    if (x < 0 || y < 0 || x >= mask.width || y >= mask.height) return;
    if (this.kind === "instance" && mask.data[y * mask.width + x] !== 0) {
      this.onMessage("Fill works on background only in instance collections (objects never merge).");
      return;
    }
    const value = this.paintValue();
    mask.begin();
    this.finishEdit(mask.floodFill(x, y, value), "fill");
  }

  /** @param {PointerEvent} e */
  pointerMove(e) {
    const { sx, sy } = this.stage.eventPoint(e);
    this.hover = { sx, sy };
    const { x, y } = this.pixelAt(sx, sy);
    this.onCursor(x, y);
    const drag = this.drag;
    if (drag?.kind === "pan") {
      this.stage.panBy(sx - drag.sx, sy - drag.sy);
      drag.sx = sx;
      drag.sy = sy;
      return;
    }
    if (drag?.kind === "paint") {
      if (x !== drag.px || y !== drag.py) {
        const t0 = performance.now();
        this.eventStart = this.eventStart || t0;
        this.refresh(this.mask.stroke(drag.px, drag.py, x, y, this.brushSize, drag.value, drag.rule));
        record(this.perf.editMs, performance.now() - t0);
        drag.px = x;
        drag.py = y;
      }
    } else if (drag?.kind === "lasso") {
      const p = this.stage.toImage(sx, sy);
      const last = this.polygon[this.polygon.length - 1];
      if (Math.hypot((p.x - last.x) * this.stage.zoom, (p.y - last.y) * this.stage.zoom) >= 3) {
        this.polygon.push(p);
        drag.moved = true;
      }
    }
    this.stage.redrawCursor();
  }

  /** @param {PointerEvent} e */
  pointerUp(e) {
    const drag = this.drag;
    this.drag = null;
    if (this.stage.canvas.hasPointerCapture(e.pointerId)) this.stage.canvas.releasePointerCapture(e.pointerId);
    if (drag?.kind === "pan") this.setTool(this.tool);
    else if (drag?.kind === "paint") { this.mask.commit(this.tool); this.onChange(); }
    else if (drag?.kind === "lasso" && drag.moved) this.closePolygon();
  }

  get polygonActive() {
    return this.polygon.length > 0;
  }

  closePolygon() {
    const points = this.polygon;
    this.polygon = [];
    this.stage.redrawCursor();
    if (points.length < 3) {
      // Say so: a polygon that vanishes without a word looks like a lost edit.
      if (points.length) this.onMessage(`A polygon needs at least 3 points; ${points.length === 1 ? "the point was" : "its 2 points were"} discarded.`);
      return;
    }
    const value = this.paintValue();
    /** @type {Rule} */
    const rule = this.kind === "instance" ? { mode: "free", value } : { mode: "all" };
    this.mask.begin();
    this.finishEdit(this.mask.fillPolygon(points, value, rule), "polygon");
  }

  cancelPolygon() {
    this.polygon = [];
    this.stage.redrawCursor();
  }

  /** @param {WheelEvent} e */
  wheel(e) {
    e.preventDefault();
    const { sx, sy } = this.stage.eventPoint(e);
    const steps = Math.max(-4, Math.min(4, -e.deltaY / (e.deltaMode === 1 ? 3 : 100)));
    this.stage.zoomAt(Math.pow(1.25, steps), sx, sy);
    this.onChange();
  }

  /** @param {CanvasRenderingContext2D} ctx */
  drawCursor(ctx) {
    const { zoom, panX, panY } = this.stage;
    if (this.polygon.length) {
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = "#ffe066";
      ctx.beginPath();
      this.polygon.forEach((p, i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, panX + p.x * zoom, panY + p.y * zoom));
      if (this.hover) ctx.lineTo(this.hover.sx, this.hover.sy);
      ctx.stroke();
      const f = this.polygon[0];
      ctx.fillStyle = "#ffe066";
      ctx.fillRect(panX + f.x * zoom - 3, panY + f.y * zoom - 3, 6, 6);
    }
    if (!this.hover || this.readOnly || (this.tool !== "brush" && this.tool !== "eraser")) return;
    const { x, y } = this.pixelAt(this.hover.sx, this.hover.sy);
    const r = (this.brushSize / 2) * zoom;
    ctx.lineWidth = 1;
    ctx.strokeStyle = this.tool === "eraser" ? "#ff8080" : "#ffffff";
    ctx.beginPath();
    ctx.arc(panX + (x + 0.5) * zoom, panY + (y + 0.5) * zoom, Math.max(1.5, r), 0, Math.PI * 2);
    ctx.stroke();
  }
}
