// @ts-check
/**
 * The label mask being edited: a Uint16Array of the image's size, edited in place. Every edit
 * copies the 64x64 tiles it is about to touch (once per edit), so undo/redo stores only the
 * changed tiles before and after, never whole copies of the mask.
 */

const TILE = 64;

/** @typedef {{x0: number, y0: number, x1: number, y1: number}} Rect  end-exclusive, image pixels */
/** @typedef {{tile: number, before: Uint16Array, after: Uint16Array}} TileDiff */
/** @typedef {{diffs: TileDiff[], rect: Rect, label: string}} Edit */
/**
 * Which pixels an edit may change, given their current value:
 * "all" everything; "free" only background or `value` itself (instance brush: objects never
 * merge); "only" only pixels equal to `only` (instance eraser: the current object alone).
 * @typedef {{mode: "all"} | {mode: "free", value: number} | {mode: "only", only: number}} Rule
 */

/** @param {Rect | null} a @param {Rect | null} b @returns {Rect | null} */
export function union(a, b) {
  if (!a) return b;
  if (!b) return a;
  return { x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0), x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1) };
}

/**
 * Row half-widths of a round brush of `size` pixels across: the pixel (cx+dx, cy+dy) is painted
 * when dx^2 + dy^2 <= (size/2)^2, so size 1 paints one pixel and size 3 a 3x3 block.
 * @param {number} size
 * @returns {Int32Array} half-width per dy, index dy + r, -1 where the row is empty
 */
export function brushSpans(size) {
  const r = Math.floor(size / 2);
  const r2 = (size / 2) ** 2;
  const spans = new Int32Array(2 * r + 1);
  for (let dy = -r; dy <= r; dy++) {
    const rest = r2 - dy * dy;
    spans[dy + r] = rest < 0 ? -1 : Math.min(r, Math.floor(Math.sqrt(rest)));
  }
  return spans;
}

export class LabelMask {
  /** @param {number} width @param {number} height @param {Uint16Array} [data] */
  constructor(width, height, data) {
    this.width = width;
    this.height = height;
    this.data = data ?? new Uint16Array(width * height);
    this.tilesX = Math.ceil(width / TILE);
    this.tilesY = Math.ceil(height / TILE);
    /** @type {Edit[]} */
    this.undoStack = [];
    /** @type {Edit[]} */
    this.redoStack = [];
    /** @type {Map<number, Uint16Array> | null} tiles copied in the edit under way */
    this.backup = null;
    this.touched = new Uint8Array(this.tilesX * this.tilesY);
    /** @type {Rect | null} */
    this.editRect = null;
  }

  /** Start an edit (a stroke, a fill, a polygon). */
  begin() {
    if (this.backup) this.commit("edit");
    this.backup = new Map();
    this.touched.fill(0);
    this.editRect = null;
  }

  /** @param {number} t @returns {Uint16Array} */
  readTile(t) {
    const { x0, y0, x1, y1 } = this.tileRect(t);
    const w = x1 - x0;
    const out = new Uint16Array(w * (y1 - y0));
    for (let y = y0; y < y1; y++) out.set(this.data.subarray(y * this.width + x0, y * this.width + x1), (y - y0) * w);
    return out;
  }

  /** @param {number} t @param {Uint16Array} values */
  writeTile(t, values) {
    const { x0, y0, x1, y1 } = this.tileRect(t);
    const w = x1 - x0;
    for (let y = y0; y < y1; y++) this.data.set(values.subarray((y - y0) * w, (y - y0 + 1) * w), y * this.width + x0);
  }

  /** @param {number} t @returns {Rect} */
  tileRect(t) {
    const tx = t % this.tilesX, ty = Math.floor(t / this.tilesX);
    return { x0: tx * TILE, y0: ty * TILE, x1: Math.min(this.width, (tx + 1) * TILE), y1: Math.min(this.height, (ty + 1) * TILE) };
  }

  /** Copy, once per edit, the tiles of a rectangle about to change. @param {Rect} r */
  touch(r) {
    if (!this.backup) this.begin();
    const backup = /** @type {Map<number, Uint16Array>} */ (this.backup);
    const tx0 = Math.floor(r.x0 / TILE), tx1 = Math.floor((r.x1 - 1) / TILE);
    const ty0 = Math.floor(r.y0 / TILE), ty1 = Math.floor((r.y1 - 1) / TILE);
    for (let ty = ty0; ty <= ty1; ty++) {
      for (let tx = tx0; tx <= tx1; tx++) {
        const t = ty * this.tilesX + tx;
        if (!this.touched[t]) { this.touched[t] = 1; backup.set(t, this.readTile(t)); }
      }
    }
    this.editRect = union(this.editRect, r);
  }

  /** @param {Rect} r @returns {Rect | null} the part inside the image, or null */
  clip(r) {
    const c = { x0: Math.max(0, r.x0), y0: Math.max(0, r.y0), x1: Math.min(this.width, r.x1), y1: Math.min(this.height, r.y1) };
    return c.x0 < c.x1 && c.y0 < c.y1 ? c : null;
  }

  /**
   * Paint a round brush along the pixel line from (ax, ay) to (bx, by), every pixel of it, so
   * fast strokes leave no gaps.
   * @param {number} ax @param {number} ay @param {number} bx @param {number} by
   * @param {number} size brush diameter in image pixels @param {number} value @param {Rule} rule
   * @returns {Rect | null} the rectangle that may have changed
   */
  stroke(ax, ay, bx, by, size, value, rule) {
    const spans = brushSpans(size);
    const r = (spans.length - 1) / 2;
    const box = this.clip({ x0: Math.min(ax, bx) - r, y0: Math.min(ay, by) - r, x1: Math.max(ax, bx) + r + 1, y1: Math.max(ay, by) + r + 1 });
    if (!box) return null;
    this.touch(box);
    const dx = Math.abs(bx - ax), dy = -Math.abs(by - ay);
    const sx = ax < bx ? 1 : -1, sy = ay < by ? 1 : -1;
    let err = dx + dy, x = ax, y = ay;
    for (;;) {
      this.stamp(x, y, spans, r, value, rule);
      if (x === bx && y === by) break;
      const e2 = 2 * err;
      if (e2 >= dy) { err += dy; x += sx; }
      if (e2 <= dx) { err += dx; y += sy; }
    }
    return box;
  }

  /**
   * @param {number} cx @param {number} cy @param {Int32Array} spans @param {number} r
   * @param {number} value @param {Rule} rule
   */
  stamp(cx, cy, spans, r, value, rule) {
    const { width, height, data } = this;
    for (let dy = -r; dy <= r; dy++) {
      const y = cy + dy, hw = spans[dy + r];
      if (y < 0 || y >= height || hw < 0) continue;
      const xa = Math.max(0, cx - hw), xb = Math.min(width - 1, cx + hw);
      this.fillSpan(y * width, xa, xb, value, rule, data);
    }
  }

  /**
   * @param {number} row offset of the row @param {number} xa @param {number} xb inclusive
   * @param {number} value @param {Rule} rule @param {Uint16Array} data
   */
  fillSpan(row, xa, xb, value, rule, data) {
    if (rule.mode === "all") data.fill(value, row + xa, row + xb + 1);
    else if (rule.mode === "free") {
      for (let i = row + xa; i <= row + xb; i++) if (data[i] === 0) data[i] = value;
    } else {
      const only = rule.only;
      for (let i = row + xa; i <= row + xb; i++) if (data[i] === only) data[i] = value;
    }
  }

  /**
   * Replace the 4-connected region of equal values around (x, y) by `value`.
   * @param {number} x @param {number} y @param {number} value
   * @returns {Rect | null}
   */
  floodFill(x, y, value) {
    const { width, height, data } = this;
    if (x < 0 || y < 0 || x >= width || y >= height) return null;
    const target = data[y * width + x];
    if (target === value) return null;
    /** @type {number[]} */
    const stack = [x, y];
    /** @type {Rect | null} */
    let box = null;
    while (stack.length) {
      const sy = /** @type {number} */ (stack.pop()), sx = /** @type {number} */ (stack.pop());
      const row = sy * width;
      if (data[row + sx] !== target) continue;
      let xl = sx, xr = sx;
      while (xl > 0 && data[row + xl - 1] === target) xl--;
      while (xr < width - 1 && data[row + xr + 1] === target) xr++;
      const span = { x0: xl, y0: sy, x1: xr + 1, y1: sy + 1 };
      this.touch(span);
      box = union(box, span);
      data.fill(value, row + xl, row + xr + 1);
      for (const ny of [sy - 1, sy + 1]) {
        if (ny < 0 || ny >= height) continue;
        const nrow = ny * width;
        let inRun = false;
        for (let nx = xl; nx <= xr; nx++) {
          const match = data[nrow + nx] === target;
          if (match && !inRun) stack.push(nx, ny);
          inRun = match;
        }
      }
    }
    return box;
  }

  /**
   * Fill a polygon: the pixels whose centres lie inside (even-odd rule), scanline by scanline.
   * @param {{x: number, y: number}[]} points vertices in image coordinates (pixel corners at integers)
   * @param {number} value @param {Rule} rule
   * @returns {Rect | null}
   */
  fillPolygon(points, value, rule) {
    if (points.length < 3) return null;
    const ys = points.map((p) => p.y), xs = points.map((p) => p.x);
    const box = this.clip({
      x0: Math.floor(Math.min(...xs)), y0: Math.floor(Math.min(...ys)),
      x1: Math.ceil(Math.max(...xs)) + 1, y1: Math.ceil(Math.max(...ys)) + 1,
    });
    if (!box) return null;
    this.touch(box);
    const n = points.length;
    /** @type {number[]} */
    const cross = [];
    for (let y = box.y0; y < box.y1; y++) {
      const yc = y + 0.5;
      cross.length = 0;
      for (let i = 0; i < n; i++) {
        const a = points[i], b = points[(i + 1) % n];
        if ((a.y <= yc && b.y > yc) || (b.y <= yc && a.y > yc)) cross.push(a.x + ((yc - a.y) / (b.y - a.y)) * (b.x - a.x));
      }
      cross.sort((p, q) => p - q);
      for (let k = 0; k + 1 < cross.length; k += 2) {
        // pixel x is inside when its centre x + 0.5 lies in [left, right)
        const xa = Math.max(box.x0, Math.ceil(cross[k] - 0.5));
        const xb = Math.min(box.x1 - 1, Math.ceil(cross[k + 1] - 0.5) - 1);
        if (xa <= xb) this.fillSpan(y * this.width, xa, xb, value, rule, this.data);
      }
    }
    return box;
  }

  /**
   * Set every pixel equal to `from` to `to` (delete or relabel an object).
   * @param {number} from @param {number} to @returns {Rect | null}
   */
  replaceValue(from, to) {
    const { width, height, data } = this;
    /** @type {Rect | null} */
    let box = null;
    for (let y = 0; y < height; y++) {
      const row = y * width;
      let xa = -1, xb = -1;
      for (let x = 0; x < width; x++) if (data[row + x] === from) { if (xa < 0) xa = x; xb = x; }
      if (xa < 0) continue;
      const span = { x0: xa, y0: y, x1: xb + 1, y1: y + 1 };
      this.touch(span);
      box = union(box, span);
      for (let i = row + xa; i <= row + xb; i++) if (data[i] === from) data[i] = to;
    }
    return box;
  }

  /**
   * Finish the edit under way and record the tiles it changed.
   * @param {string} label @returns {Edit | null} null when nothing changed
   */
  commit(label) {
    const backup = this.backup;
    this.backup = null;
    if (!backup || !this.editRect) return null;
    /** @type {TileDiff[]} */
    const diffs = [];
    for (const [tile, before] of backup) {
      const after = this.readTile(tile);
      let same = true;
      for (let i = 0; i < after.length; i++) if (after[i] !== before[i]) { same = false; break; }
      if (!same) diffs.push({ tile, before, after });
    }
    if (!diffs.length) return null;
    const edit = { diffs, rect: this.editRect, label };
    this.undoStack.push(edit);
    this.redoStack.length = 0;
    return edit;
  }

  /** @returns {Rect | null} */
  undo() {
    if (this.backup) this.commit("edit");
    const edit = this.undoStack.pop();
    if (!edit) return null;
    for (const d of edit.diffs) this.writeTile(d.tile, d.before);
    this.redoStack.push(edit);
    return edit.rect;
  }

  /** @returns {Rect | null} */
  redo() {
    const edit = this.redoStack.pop();
    if (!edit) return null;
    for (const d of edit.diffs) this.writeTile(d.tile, d.after);
    this.undoStack.push(edit);
    return edit.rect;
  }

  /** The edit on top of the undo stack: compare with the one at the last save to know if dirty. */
  get head() {
    return this.undoStack.length ? this.undoStack[this.undoStack.length - 1] : null;
  }

  /** @returns {number} the largest label */
  max() {
    let m = 0;
    const d = this.data;
    for (let i = 0; i < d.length; i++) if (d[i] > m) m = d[i];
    return m;
  }

  /** @returns {Set<number>} labels present, background excluded */
  labels() {
    const seen = new Uint8Array(65536);
    const d = this.data;
    for (let i = 0; i < d.length; i++) seen[d[i]] = 1;
    const out = new Set();
    for (let v = 1; v < 65536; v++) if (seen[v]) out.add(v);
    return out;
  }
}
