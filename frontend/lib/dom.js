// @ts-check
/** Tiny DOM helpers: no framework, just elements. */

/**
 * Create an element. Attributes starting with "on" become listeners; `dataset`/`style` objects
 * are merged; children may be strings, nodes, or falsy (skipped).
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Node | string | number | null | undefined | false | (Node | string | null | undefined | false)[])} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "class") el.className = value;
    else if (key in el && typeof value !== "string") /** @type {any} */ (el)[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** @param {Element} el @param {any[]} children */
function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** @param {Element} el @param {...any} children */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** A message line for errors and notices. @param {string} text @param {"error"|"info"|"ok"} [kind] */
export function notice(text, kind = "error") {
  return h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

/** @param {number} seconds */
export function formatDuration(seconds) {
  if (!isFinite(seconds) || seconds < 0) return "—";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** @param {string | null | undefined} iso */
export function formatTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (isNaN(d.getTime())) return iso;
  const p = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * A progress bar element; update with setProgress.
 * @param {Record<string, any>} [attrs]
 */
export function progressBar(attrs = {}) {
  return h("div", { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0", ...attrs },
    h("div", { class: "progress-fill" }));
}

/** @param {HTMLElement} bar @param {number} fraction 0..1 */
export function setProgress(bar, fraction) {
  const pct = Math.max(0, Math.min(100, Math.round(fraction * 1000) / 10));
  bar.setAttribute("aria-valuenow", String(pct));
  bar.dataset.progress = String(fraction);
  const fill = /** @type {HTMLElement} */ (bar.firstElementChild);
  fill.style.width = `${pct}%`;
}
