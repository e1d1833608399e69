// @ts-check
/** A small inline-SVG line chart: fractions (0..1, larger values drawn at the top edge) against a
 * count, several series. */

const NS = "http://www.w3.org/2000/svg";

/**
 * @param {string} tag @param {Record<string, string | number>} attrs @param {string} [text]
 * @returns {SVGElement}
 */
function s(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/**
 * @typedef {object} Series
 * @property {string} name
 * @property {string} color
 * @property {[number, number][]} points x, y with y in 0..1
 * @property {boolean} [dashed]
 */

/**
 * @param {Series[]} series @param {{xLabel: string, yLabel: string, width?: number, height?: number}} o
 * @returns {SVGSVGElement}
 */
export function lineChart(series, { xLabel, yLabel, width = 560, height = 260 }) {
  const m = { l: 46, r: 14, t: 14, b: 40 };
  const w = width - m.l - m.r, hgt = height - m.t - m.b;
  const xs = series.flatMap((q) => q.points.map((p) => p[0]));
  const xMax = Math.max(1, ...xs);
  const xMin = 0;
  const pad = 12; // keep end points off the axes
  const X = (/** @type {number} */ x) => m.l + pad + ((x - xMin) / (xMax - xMin || 1)) * (w - 2 * pad);
  const Y = (/** @type {number} */ y) => m.t + (1 - Math.max(0, Math.min(1, y))) * hgt;
  const svg = /** @type {SVGSVGElement} */ (s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": `${yLabel} against ${xLabel}` }));
  for (let k = 0; k <= 4; k++) {
    const y = k / 4;
    svg.append(s("line", { x1: m.l, x2: m.l + w, y1: Y(y), y2: Y(y), class: "grid" }));
    svg.append(s("text", { x: m.l - 6, y: Y(y) + 4, class: "tick", "text-anchor": "end" }, y.toFixed(2)));
  }
  const ticks = Math.min(6, Math.max(1, Math.round(xMax - xMin)));
  for (let k = 0; k <= ticks; k++) {
    const x = xMin + ((xMax - xMin) * k) / ticks;
    svg.append(s("text", { x: X(x), y: m.t + hgt + 16, class: "tick", "text-anchor": "middle" }, String(Math.round(x))));
  }
  svg.append(s("line", { x1: m.l, x2: m.l + w, y1: m.t + hgt, y2: m.t + hgt, class: "axis" }));
  svg.append(s("line", { x1: m.l, x2: m.l, y1: m.t, y2: m.t + hgt, class: "axis" }));
  svg.append(s("text", { x: m.l + w / 2, y: height - 6, class: "label", "text-anchor": "middle" }, xLabel));
  svg.append(s("text", { x: 12, y: m.t + hgt / 2, class: "label", "text-anchor": "middle", transform: `rotate(-90 12 ${m.t + hgt / 2})` }, yLabel));
  // Legend entries side by side, each as wide as its name, wrapping onto a new row.
  let lx = m.l + 10, ly = m.t + 8;
  series.forEach((q) => {
    const pts = q.points.filter((p) => isFinite(p[1])).sort((a, b) => a[0] - b[0]);
    if (pts.length > 1) {
      svg.append(s("polyline", { points: pts.map((p) => `${X(p[0])},${Y(p[1])}`).join(" "), fill: "none", stroke: q.color, "stroke-width": 2, "stroke-dasharray": q.dashed ? "5 4" : "none" }));
    }
    for (const p of pts) {
      const dot = s("circle", { cx: X(p[0]), cy: Y(p[1]), r: 3.5, fill: q.color });
      dot.append(s("title", {}, `${q.name}: ${p[1].toFixed(3)} at ${p[0]} ${xLabel}`));
      svg.append(dot);
    }
    const entry = 24 + q.name.length * 6.5;
    if (lx > m.l + 10 && lx + entry > m.l + w) {
      lx = m.l + 10;
      ly += 16;
    }
    svg.append(s("line", { x1: lx, x2: lx + 18, y1: ly, y2: ly, stroke: q.color, "stroke-width": 2, "stroke-dasharray": q.dashed ? "5 4" : "none" }));
    svg.append(s("text", { x: lx + 24, y: ly + 4, class: "legend" }, q.name));
    lx += entry + 18;
  });
  return svg;
}
