// @ts-check
/** The display controls: channel choice and colour, min/max or auto contrast, gamma. */
import { h } from "../lib/dom.js";
import { dataRange, percentiles, renderDisplay } from "./display.js";

/** @typedef {import("./display.js").DisplaySettings} DisplaySettings */
/** @typedef {import("../lib/png.js").Raster} Raster */

/**
 * @param {Raster} raster @param {DisplaySettings} settings
 * @param {() => void} onChange called after `settings` changed (debounced to a frame)
 * @returns {HTMLElement}
 */
export function displayPanel(raster, settings, onChange) {
  const [lo, hi] = dataRange(raster);
  const step = raster.float ? (hi - lo) / 1000 : 1;
  let frame = 0;
  const changed = () => {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; onChange(); });
  };
  let current = 0;
  const body = h("div", { class: "channel-body" });
  const channelSelect = /** @type {HTMLSelectElement} */ (h("select", { "data-testid": "channel-select", title: "Channel shown; 'all' composites the visible channels" },
    raster.channels.length > 1 ? h("option", { value: "all" }, "all channels") : null,
    raster.channels.map((_, i) => h("option", { value: String(i) }, `channel ${i + 1}`))));
  channelSelect.addEventListener("change", () => {
    const v = channelSelect.value;
    if (v === "all") settings.channels.forEach((c) => { c.visible = true; });
    else settings.channels.forEach((c, i) => { c.visible = i === Number(v); });
    current = v === "all" ? current : Number(v);
    build();
    changed();
  });

  function build() {
    const view = settings.channels[current];
    const range = (/** @type {"min" | "max"} */ key) => {
      const slider = /** @type {HTMLInputElement} */ (h("input", { type: "range", min: String(lo), max: String(hi), step: String(step), value: String(view[key]), "data-testid": `contrast-${key}` }));
      const number = /** @type {HTMLInputElement} */ (h("input", { type: "number", class: "num", min: String(lo), max: String(hi), step: String(step), value: String(view[key]) }));
      const set = (/** @type {string} */ s) => { const v = Number(s); if (isFinite(v)) { view[key] = v; slider.value = number.value = String(v); changed(); } };
      slider.addEventListener("input", () => set(slider.value));
      number.addEventListener("change", () => set(number.value));
      return h("label", { class: "row" }, h("span", { class: "lbl" }, key), slider, number);
    };
    const colour = /** @type {HTMLInputElement} */ (h("input", { type: "color", value: view.color, title: "Channel colour" }));
    colour.addEventListener("input", () => { view.color = colour.value; changed(); });
    const visible = /** @type {HTMLInputElement} */ (h("input", { type: "checkbox", checked: view.visible, title: "Show this channel" }));
    visible.addEventListener("change", () => { view.visible = visible.checked; changed(); });
    const picker = raster.channels.length > 1
      ? h("div", { class: "row" }, h("span", { class: "lbl" }, "edit"),
        h("select", { onchange: (/** @type {Event} */ e) => { current = Number(/** @type {HTMLSelectElement} */ (e.target).value); build(); } },
          raster.channels.map((_, i) => h("option", { value: String(i), selected: i === current }, `channel ${i + 1}`))), visible, colour)
      : h("div", { class: "row" }, h("span", { class: "lbl" }, "colour"), colour);
    body.replaceChildren(picker, range("min"), range("max"),
      h("div", { class: "row buttons" },
        h("button", { type: "button", "data-testid": "contrast-auto", title: "Auto contrast: 0.1-99.9 percentiles (A)", onclick: () => { autoContrast(); } }, "Auto"),
        h("button", { type: "button", "data-testid": "contrast-data-range", title: "Stretch from the darkest to the brightest sample", onclick: () => { view.min = lo; view.max = hi; build(); changed(); } }, "Min–max")));
  }

  function autoContrast() {
    settings.channels.forEach((c, i) => { [c.min, c.max] = percentiles(raster.channels[i], raster.float); });
    build();
    changed();
  }

  const gamma = /** @type {HTMLInputElement} */ (h("input", { type: "range", min: "-1", max: "1", step: "0.01", value: String(Math.log10(settings.gamma)), "data-testid": "gamma" }));
  const gammaText = h("span", { class: "num-out" }, settings.gamma.toFixed(2));
  gamma.addEventListener("input", () => {
    settings.gamma = Math.pow(10, Number(gamma.value));
    gammaText.textContent = settings.gamma.toFixed(2);
    changed();
  });
  build();
  const panel = h("div", { class: "display-panel" },
    h("div", { class: "row" }, h("span", { class: "lbl" }, "show"), channelSelect),
    body,
    h("label", { class: "row" }, h("span", { class: "lbl" }, "gamma"), gamma, gammaText));
  /** @type {any} */ (panel).autoContrast = autoContrast;
  return panel;
}

/**
 * An image-sized canvas showing the raster under the given settings.
 * @param {Raster} raster
 */
export function displayCanvas(raster) {
  const canvas = document.createElement("canvas");
  canvas.width = raster.width;
  canvas.height = raster.height;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  const image = ctx.createImageData(raster.width, raster.height);
  return {
    canvas,
    /** @param {DisplaySettings} settings */
    render(settings) {
      renderDisplay(raster, settings, image);
      ctx.putImageData(image, 0, 0);
    },
  };
}
