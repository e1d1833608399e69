// @ts-check
/**
 * The drawing surface: image, mask overlay and confidence layers composited onto one canvas
 * with an exact, nearest-neighbour mapping (image pixel (x, y) covers screen
 * [panX + x*zoom, panX + (x+1)*zoom)), plus a cursor layer on top. Zoom and pan are mirrored into
 * the canvas's data-zoom / data-pan-x / data-pan-y attributes for automation.
 */

/** @typedef {import("./mask.js").Rect} Rect */

const MIN_ZOOM = 1 / 64;
const MAX_ZOOM = 64;

export class Stage {
  /**
   * @param {HTMLElement} host element the canvases fill
   * @param {number} width image width @param {number} height image height
   */
  constructor(host, width, height) {
    this.host = host;
    this.width = width;
    this.height = height;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "stage-canvas";
    this.canvas.setAttribute("data-testid", "annotation-canvas");
    this.canvas.tabIndex = 0;
    this.cursor = document.createElement("canvas");
    this.cursor.className = "stage-cursor";
    host.append(this.canvas, this.cursor);
    this.ctx = /** @type {CanvasRenderingContext2D} */ (this.canvas.getContext("2d", { alpha: false }));
    this.cursorCtx = /** @type {CanvasRenderingContext2D} */ (this.cursor.getContext("2d"));
    this.zoom = 1;
    this.panX = 0;
    this.panY = 0;
    this.dpr = window.devicePixelRatio || 1;
    /** @type {{source: CanvasImageSource, alpha: number, visible: boolean}[]} */
    this.layers = [];
    /** @type {Rect | null} screen rectangle (CSS px) awaiting a repaint; null with full=true */
    this.pending = null;
    this.full = false;
    this.frame = 0;
    /** @type {((ms: number) => void) | null} called after each composite with its duration */
    this.onFrame = null;
    /** @type {() => void} called after zoom or pan changed */
    this.onView = () => {};
    /** @type {(ctx: CanvasRenderingContext2D) => void} draws the cursor layer */
    this.drawCursor = () => {};
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(host);
    this.resize();
  }

  destroy() {
    this.resizeObserver.disconnect();
    cancelAnimationFrame(this.frame);
  }

  resize() {
    const w = Math.max(1, this.host.clientWidth), hgt = Math.max(1, this.host.clientHeight);
    this.dpr = window.devicePixelRatio || 1;
    for (const c of [this.canvas, this.cursor]) {
      c.width = Math.round(w * this.dpr);
      c.height = Math.round(hgt * this.dpr);
      c.style.width = `${w}px`;
      c.style.height = `${hgt}px`;
    }
    this.cssWidth = w;
    this.cssHeight = hgt;
    this.invalidate();
  }

  /** Fit the whole image in view, centred. */
  fit() {
    const w = this.cssWidth ?? 1, hgt = this.cssHeight ?? 1;
    const z = Math.min(w / this.width, hgt / this.height) * 0.96;
    this.setView(z, (w - this.width * z) / 2, (hgt - this.height * z) / 2);
  }

  /** @param {number} zoom @param {number} panX @param {number} panY */
  setView(zoom, panX, panY) {
    this.zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, zoom));
    this.panX = panX;
    this.panY = panY;
    this.canvas.dataset.zoom = String(this.zoom);
    this.canvas.dataset.panX = String(this.panX);
    this.canvas.dataset.panY = String(this.panY);
    this.invalidate();
    this.onView();
  }

  /** Zoom by `factor` keeping screen point (sx, sy) fixed. @param {number} factor @param {number} sx @param {number} sy */
  zoomAt(factor, sx, sy) {
    const z = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.zoom * factor));
    const k = z / this.zoom;
    this.setView(z, sx - (sx - this.panX) * k, sy - (sy - this.panY) * k);
  }

  /** @param {number} dx @param {number} dy CSS pixels */
  panBy(dx, dy) {
    this.setView(this.zoom, this.panX + dx, this.panY + dy);
  }

  /**
   * Screen (CSS px from the canvas's top-left) to continuous image coordinates.
   * @param {number} sx @param {number} sy
   */
  toImage(sx, sy) {
    return { x: (sx - this.panX) / this.zoom, y: (sy - this.panY) / this.zoom };
  }

  /** @param {MouseEvent} e @returns {{sx: number, sy: number}} */
  eventPoint(e) {
    const r = this.canvas.getBoundingClientRect();
    return { sx: e.clientX - r.left, sy: e.clientY - r.top };
  }

  /** Repaint everything at the next frame. */
  invalidate() {
    this.full = true;
    this.schedule();
  }

  /** Repaint only where image rectangle `rect` shows. @param {Rect} rect */
  invalidateImageRect(rect) {
    const s = {
      x0: Math.floor(this.panX + rect.x0 * this.zoom) - 1, y0: Math.floor(this.panY + rect.y0 * this.zoom) - 1,
      x1: Math.ceil(this.panX + rect.x1 * this.zoom) + 1, y1: Math.ceil(this.panY + rect.y1 * this.zoom) + 1,
    };
    this.pending = this.pending
      ? { x0: Math.min(this.pending.x0, s.x0), y0: Math.min(this.pending.y0, s.y0), x1: Math.max(this.pending.x1, s.x1), y1: Math.max(this.pending.y1, s.y1) }
      : s;
    this.schedule();
  }

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.composite());
  }

  /** Draw the layers, clipped to the pending rectangle unless a full repaint is due. */
  composite() {
    this.frame = 0;
    const t0 = performance.now();
    const { ctx, dpr } = this;
    ctx.save();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (!this.full && this.pending) {
      const p = this.pending;
      ctx.beginPath();
      ctx.rect(p.x0, p.y0, p.x1 - p.x0, p.y1 - p.y0);
      ctx.clip();
    }
    ctx.fillStyle = "#0d0f12";
    ctx.fillRect(0, 0, this.cssWidth ?? 0, this.cssHeight ?? 0);
    ctx.imageSmoothingEnabled = false;
    ctx.setTransform(dpr * this.zoom, 0, 0, dpr * this.zoom, dpr * this.panX, dpr * this.panY);
    for (const layer of this.layers) {
      if (!layer.visible || layer.alpha <= 0) continue;
      ctx.globalAlpha = layer.alpha;
      ctx.drawImage(layer.source, 0, 0);
    }
    ctx.restore();
    this.full = false;
    this.pending = null;
    this.redrawCursor();
    if (this.onFrame) this.onFrame(performance.now() - t0);
  }

  redrawCursor() {
    const c = this.cursorCtx;
    c.setTransform(1, 0, 0, 1, 0, 0);
    c.clearRect(0, 0, this.cursor.width, this.cursor.height);
    c.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    this.drawCursor(c);
  }
}
