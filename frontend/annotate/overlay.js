// @ts-check
/**
 * The mask's coloured overlay, kept on an image-sized canvas and repainted only inside the
 * rectangle an edit touched.
 */
import { hexToRgb } from "./display.js";

/** @typedef {import("./mask.js").Rect} Rect */

/** @param {number} h 0..360 @param {number} s @param {number} l @returns {[number, number, number]} */
function hsl(h, s, l) {
  const k = (/** @type {number} */ n) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (/** @type {number} */ n) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [Math.round(255 * f(0)), Math.round(255 * f(8)), Math.round(255 * f(4))];
}

/** RGBA packed little-endian for a Uint32Array view of ImageData. */
const pack = (/** @type {number} */ r, /** @type {number} */ g, /** @type {number} */ b, a = 255) => ((a << 24) | (b << 16) | (g << 8) | r) >>> 0;

/**
 * Colours per label: class colours (semantic) or a distinct hue per object (instance).
 * @param {"semantic" | "instance"} kind @param {{color: string}[]} classes
 * @returns {Uint32Array} 65536 packed colours, 0 transparent
 */
export function makePalette(kind, classes) {
  const out = new Uint32Array(65536);
  if (kind === "semantic") {
    for (let v = 1; v < 65536; v++) {
      const c = classes[v - 1];
      const [r, g, b] = c ? hexToRgb(c.color) : [200, 200, 200];
      out[v] = pack(r, g, b);
    }
  } else {
    for (let v = 1; v < 65536; v++) {
      const [r, g, b] = hsl((v * 137.508) % 360, 0.85, 0.55);
      out[v] = pack(r, g, b);
    }
  }
  return out;
}

export class Overlay {
  /**
   * @param {number} width @param {number} height
   * @param {Uint16Array} labels
   * @param {Uint32Array} palette
   */
  constructor(width, height, labels, palette) {
    this.width = width;
    this.height = height;
    this.labels = labels;
    this.palette = palette;
    this.outline = false;
    /** Highlighted label (the selected object), 0 for none. */
    this.selected = 0;
    this.canvas = document.createElement("canvas");
    this.canvas.width = width;
    this.canvas.height = height;
    this.ctx = /** @type {CanvasRenderingContext2D} */ (this.canvas.getContext("2d"));
    /** The selected object's outline, drawn opaque above the translucent fill. */
    this.selectionCanvas = document.createElement("canvas");
    this.selectionCanvas.width = width;
    this.selectionCanvas.height = height;
    this.selectionCtx = /** @type {CanvasRenderingContext2D} */ (this.selectionCanvas.getContext("2d"));
  }

  /** Repaint everything (after loading, or a change of mode or selection). */
  repaintAll() {
    this.repaint({ x0: 0, y0: 0, x1: this.width, y1: this.height });
  }

  /**
   * Repaint one rectangle; outlines depend on neighbours, so it grows by one pixel.
   * @param {Rect} rect
   */
  repaint(rect) {
    const grow = this.outline || this.selected ? 1 : 0;
    const x0 = Math.max(0, rect.x0 - grow), y0 = Math.max(0, rect.y0 - grow);
    const x1 = Math.min(this.width, rect.x1 + grow), y1 = Math.min(this.height, rect.y1 + grow);
    const w = x1 - x0, hgt = y1 - y0;
    if (w <= 0 || hgt <= 0) return;
    const image = new ImageData(w, hgt);
    const px = new Uint32Array(image.data.buffer);
    const selection = new ImageData(w, hgt);
    const spx = new Uint32Array(selection.data.buffer);
    const { labels, palette, width, height, selected } = this;
    const bright = pack(255, 230, 0);
    for (let y = y0; y < y1; y++) {
      const row = y * width;
      for (let x = x0; x < x1; x++) {
        const v = labels[row + x];
        if (v === 0) continue;
        const isSelected = v === selected;
        let edge = false;
        if (this.outline || isSelected) {
          edge = x === 0 || x === width - 1 || y === 0 || y === height - 1 ||
            labels[row + x - 1] !== v || labels[row + x + 1] !== v || labels[row + x - width] !== v || labels[row + x + width] !== v;
          if (this.outline && !edge) continue;
        }
        const at = (y - y0) * w + (x - x0);
        if (isSelected && edge) spx[at] = bright;
        else px[at] = palette[v];
      }
    }
    this.ctx.putImageData(image, x0, y0);
    this.selectionCtx.putImageData(selection, x0, y0);
  }
}

/**
 * A canvas that tints low-confidence pixels (255 = sure, 0 = unsure) in magenta.
 * @param {Uint8Array | Uint16Array | Float32Array} confidence @param {number} width @param {number} height
 */
export function confidenceCanvas(confidence, width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  const image = new ImageData(width, height);
  const px = new Uint32Array(image.data.buffer);
  for (let i = 0; i < px.length; i++) px[i] = pack(255, 0, 200, 255 - Math.min(255, confidence[i]));
  ctx.putImageData(image, 0, 0);
  return canvas;
}
