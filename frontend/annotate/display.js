// @ts-check
/**
 * Microscopy display: per-channel min/max contrast, gamma, channel choice and colours, applied to
 * the original samples (8/16-bit or float) through look-up tables.
 */

/** @typedef {import("../lib/png.js").Raster} Raster */
/**
 * @typedef {object} ChannelView
 * @property {boolean} visible
 * @property {string} color "#rrggbb"
 * @property {number} min
 * @property {number} max
 */
/** @typedef {{channels: ChannelView[], gamma: number}} DisplaySettings */

const PALETTE = ["#00ff00", "#ff00ff", "#00ffff", "#ffff00", "#ff4040", "#4080ff", "#ffffff", "#ff9900"];

/** @param {string} hex @returns {[number, number, number]} */
export function hexToRgb(hex) {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

/** The range of the samples present (sliders span it). @param {Raster} raster @returns {[number, number]} */
export function dataRange(raster) {
  let lo = Infinity, hi = -Infinity;
  for (const plane of raster.channels) {
    for (let i = 0; i < plane.length; i++) { const v = plane[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
  }
  return isFinite(lo) ? [lo, hi > lo ? hi : lo + 1] : [0, 1];
}

/**
 * Percentile bounds of one channel (auto contrast).
 * @param {Uint8Array | Uint16Array | Float32Array} plane @param {boolean} float
 * @param {number} [low] @param {number} [high] fractions
 * @returns {[number, number]}
 */
export function percentiles(plane, float, low = 0.001, high = 0.999) {
  const n = plane.length;
  if (float) {
    const step = Math.max(1, Math.floor(n / 200000));
    const sample = [];
    for (let i = 0; i < n; i += step) if (isFinite(plane[i])) sample.push(plane[i]);
    sample.sort((a, b) => a - b);
    if (!sample.length) return [0, 1];
    const lo = sample[Math.floor(low * (sample.length - 1))], hi = sample[Math.ceil(high * (sample.length - 1))];
    return [lo, hi > lo ? hi : lo + 1e-6];
  }
  const counts = new Uint32Array(plane instanceof Uint8Array ? 256 : 65536);
  for (let i = 0; i < n; i++) counts[plane[i]]++;
  let acc = 0, lo = 0, hi = counts.length - 1;
  const a = low * n, b = high * n;
  let foundLo = false;
  for (let v = 0; v < counts.length; v++) {
    acc += counts[v];
    if (!foundLo && acc > a) { lo = v; foundLo = true; }
    if (acc >= b) { hi = v; break; }
  }
  return [lo, hi > lo ? hi : lo + 1];
}

/**
 * Default view: grey for one channel, red/green/blue for colour images, a palette otherwise;
 * auto contrast on each.
 * @param {Raster} raster @param {boolean} rgb
 * @returns {DisplaySettings}
 */
export function defaultSettings(raster, rgb) {
  const colours = raster.channels.length === 1 ? ["#ffffff"] : rgb && raster.channels.length === 3 ? ["#ff0000", "#00ff00", "#0000ff"] : PALETTE;
  return {
    gamma: 1,
    channels: raster.channels.map((plane, i) => {
      const [min, max] = rgb ? [0, raster.bitDepth === 16 ? 65535 : 255] : percentiles(plane, raster.float);
      return { visible: true, color: colours[i % colours.length], min, max };
    }),
  };
}

/**
 * A table from sample value to 0..255 brightness for integer data.
 * @param {number} size @param {number} min @param {number} max @param {number} gamma
 */
function lut(size, min, max, gamma) {
  const out = new Uint8ClampedArray(size);
  const span = Math.max(1e-9, max - min);
  for (let v = 0; v < size; v++) {
    const t = Math.min(1, Math.max(0, (v - min) / span));
    out[v] = Math.round(255 * (gamma === 1 ? t : Math.pow(t, 1 / gamma)));
  }
  return out;
}

/**
 * Render the raster into `target` (RGBA, the raster's size).
 * @param {Raster} raster @param {DisplaySettings} settings @param {ImageData} target
 */
export function renderDisplay(raster, settings, target) {
  const out = target.data;
  const n = raster.width * raster.height;
  const acc = new Float32Array(n * 3);
  settings.channels.forEach((view, c) => {
    if (!view.visible) return;
    const plane = raster.channels[c];
    const [r, g, b] = hexToRgb(view.color).map((v) => v / 255);
    if (raster.float) {
      const span = Math.max(1e-12, view.max - view.min);
      for (let i = 0, j = 0; i < n; i++, j += 3) {
        let t = (plane[i] - view.min) / span;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        const v = 255 * (settings.gamma === 1 ? t : Math.pow(t, 1 / settings.gamma));
        acc[j] += v * r; acc[j + 1] += v * g; acc[j + 2] += v * b;
      }
      return;
    }
    const table = lut(plane instanceof Uint8Array ? 256 : 65536, view.min, view.max, settings.gamma);
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      const v = table[plane[i]];
      acc[j] += v * r; acc[j + 1] += v * g; acc[j + 2] += v * b;
    }
  });
  for (let i = 0, j = 0, k = 0; i < n; i++, j += 3, k += 4) {
    out[k] = acc[j]; out[k + 1] = acc[j + 1]; out[k + 2] = acc[j + 2]; out[k + 3] = 255;
  }
}
