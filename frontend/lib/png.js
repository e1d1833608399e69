// @ts-check
/**
 * A small PNG codec: decodes non-interlaced grey/RGB/grey+alpha/RGBA/palette PNGs at 8 or 16 bits
 * (the browser's own decoder flattens 16-bit data to 8 bits, which loses label values and
 * microscopy contrast), and encodes grey label images at 8 or 16 bits.
 */
import { crc32, deflate, inflate } from "./zlib.js";

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/**
 * @typedef {object} Raster
 * @property {number} width
 * @property {number} height
 * @property {number} bitDepth 8, 16 or 32
 * @property {boolean} float
 * @property {(Uint8Array | Uint16Array | Float32Array)[]} channels one plane per channel, row-major
 */

/** @param {Uint8Array} b @param {number} o */
const u32 = (b, o) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

/**
 * @param {ArrayBuffer | Uint8Array} buffer
 * @returns {Promise<Raster>}
 */
export async function decodePng(buffer) {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  if (bytes.length < 8 || SIGNATURE.some((v, i) => bytes[i] !== v)) throw new Error("not a PNG file");
  let pos = 8;
  let width = 0, height = 0, depth = 0, colorType = 0, interlace = 0;
  /** @type {Uint8Array | null} */
  let palette = null;
  /** @type {Uint8Array[]} */
  const idat = [];
  while (pos + 8 <= bytes.length) {
    const length = u32(bytes, pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const data = bytes.subarray(pos + 8, pos + 8 + length);
    if (data.length !== length) throw new Error("truncated PNG");
    if (type === "IHDR") {
      width = u32(data, 0);
      height = u32(data, 4);
      depth = data[8];
      colorType = data[9];
      interlace = data[12];
    } else if (type === "PLTE") palette = data;
    else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    pos += 12 + length;
  }
  if (interlace) throw new Error("interlaced PNG is not supported here");
  if (depth !== 8 && depth !== 16) throw new Error(`PNG bit depth ${depth} is not supported here`);
  const samples = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType];
  if (!samples) throw new Error(`PNG colour type ${colorType} is not supported`);
  let total = 0;
  for (const part of idat) total += part.length;
  const joined = new Uint8Array(total);
  let at = 0;
  for (const part of idat) { joined.set(part, at); at += part.length; }
  const raw = await inflate(joined);
  const bpp = samples * (depth / 8);
  const stride = width * bpp;
  if (raw.length < height * (stride + 1)) throw new Error("truncated PNG data");
  const pixels = unfilter(raw, width, height, bpp);
  return split(pixels, width, height, samples, depth, colorType === 3 ? palette : null);
}

/**
 * Undo PNG's per-row filters in place into a new buffer (filter types 0-4).
 * @param {Uint8Array} raw @param {number} width @param {number} height @param {number} bpp
 */
function unfilter(raw, width, height, bpp) {
  const stride = width * bpp;
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const prev = row - stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? out[row + i - bpp] : 0;
      const b = y > 0 ? out[prev + i] : 0;
      const c = y > 0 && i >= bpp ? out[prev + i - bpp] : 0;
      let v = raw[src + i];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) throw new Error(`bad PNG filter ${filter}`);
      out[row + i] = v;
    }
  }
  return out;
}

/**
 * @param {Uint8Array} pixels @param {number} width @param {number} height
 * @param {number} samples @param {number} depth @param {Uint8Array | null} palette
 * @returns {Raster}
 */
function split(pixels, width, height, samples, depth, palette) {
  const n = width * height;
  if (palette) {
    const planes = [new Uint8Array(n), new Uint8Array(n), new Uint8Array(n)];
    for (let i = 0; i < n; i++) {
      const p = pixels[i] * 3;
      planes[0][i] = palette[p]; planes[1][i] = palette[p + 1]; planes[2][i] = palette[p + 2];
    }
    return { width, height, bitDepth: 8, float: false, channels: planes };
  }
  // Alpha carries no microscopy signal; keep colour or grey samples only.
  const keep = samples === 2 ? 1 : samples === 4 ? 3 : samples;
  /** @type {(Uint8Array | Uint16Array)[]} */
  const channels = [];
  for (let c = 0; c < keep; c++) {
    if (depth === 8) {
      const plane = new Uint8Array(n);
      for (let i = 0, j = c; i < n; i++, j += samples) plane[i] = pixels[j];
      channels.push(plane);
    } else {
      const plane = new Uint16Array(n);
      for (let i = 0, j = c * 2; i < n; i++, j += samples * 2) plane[i] = (pixels[j] << 8) | pixels[j + 1];
      channels.push(plane);
    }
  }
  return { width, height, bitDepth: depth, float: false, channels };
}

/**
 * @param {string} type @param {Uint8Array} data
 * @returns {Uint8Array} the chunk: length, type, data, CRC
 */
function chunk(type, data) {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * Encode a label image as a grey PNG: 8-bit when every value is at most 255, else 16-bit.
 * @param {Uint16Array} labels row-major, width*height values
 * @param {number} width @param {number} height
 * @returns {Promise<Blob>}
 */
export async function encodeLabelPng(labels, width, height) {
  let max = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] > max) max = labels[i];
  const depth = max > 255 ? 16 : 8;
  const stride = width * (depth / 8);
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    let o = y * (stride + 1);
    raw[o++] = 0; // filter: none
    const row = y * width;
    if (depth === 8) for (let x = 0; x < width; x++) raw[o++] = labels[row + x];
    else for (let x = 0; x < width; x++) { const v = labels[row + x]; raw[o++] = v >> 8; raw[o++] = v & 0xff; }
  }
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header[8] = depth;
  header[9] = 0; // grey
  const parts = [
    new Uint8Array(SIGNATURE),
    chunk("IHDR", header),
    chunk("IDAT", await deflate(raw)),
    chunk("IEND", new Uint8Array(0)),
  ];
  return new Blob(parts, { type: "image/png" });
}
