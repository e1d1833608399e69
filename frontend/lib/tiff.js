// @ts-check
/**
 * A baseline TIFF reader for microscopy display: classic (not Big) TIFF, strips or tiles,
 * uncompressed or zlib/deflate (with or without the horizontal-difference predictor), 8/16-bit
 * unsigned or 32-bit float samples, chunky or planar channels, or channels stored as pages.
 * Anything else throws, and the caller falls back to the server's 8-bit rendering.
 */
import { inflate } from "./zlib.js";

/** @typedef {import("./png.js").Raster} Raster */

const TAG = {
  width: 256, height: 257, bits: 258, compression: 259, photometric: 262, stripOffsets: 273,
  samples: 277, rowsPerStrip: 278, stripCounts: 279, planar: 284, predictor: 317,
  tileWidth: 322, tileLength: 323, tileOffsets: 324, tileCounts: 325, sampleFormat: 339,
};
const TYPE_SIZE = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8 };

/**
 * @typedef {Map<number, number[]>} Ifd
 */

/**
 * @param {DataView} view @param {boolean} le @param {number} offset
 * @returns {{ifd: Ifd, next: number}}
 */
function readIfd(view, le, offset) {
  const count = view.getUint16(offset, le);
  /** @type {Ifd} */
  const ifd = new Map();
  for (let i = 0; i < count; i++) {
    const e = offset + 2 + i * 12;
    const tag = view.getUint16(e, le);
    const type = view.getUint16(e + 2, le);
    const n = view.getUint32(e + 4, le);
    const size = /** @type {Record<number, number>} */ (TYPE_SIZE)[type] || 1;
    const at = n * size <= 4 ? e + 8 : view.getUint32(e + 8, le);
    if (type !== 3 && type !== 4 && type !== 16 && type !== 1) continue; // only numeric tags we use
    /** @type {number[]} */
    const values = [];
    for (let k = 0; k < n; k++) {
      if (type === 1) values.push(view.getUint8(at + k));
      else if (type === 3) values.push(view.getUint16(at + k * 2, le));
      else if (type === 4) values.push(view.getUint32(at + k * 4, le));
      else values.push(Number(view.getBigUint64(at + k * 8, le)));
    }
    ifd.set(tag, values);
  }
  return { ifd, next: view.getUint32(offset + 2 + count * 12, le) };
}

/** @param {Ifd} ifd @param {number} tag @param {number} fallback */
const first = (ifd, tag, fallback) => (ifd.get(tag) ?? [fallback])[0];

/**
 * @param {ArrayBuffer} buffer
 * @param {number} [wantChannels] channels the server found; pages are read as channels to reach it
 * @returns {Promise<Raster>}
 */
export async function decodeTiff(buffer, wantChannels = 1) {
  const view = new DataView(buffer);
  const order = view.getUint16(0, false);
  if (order !== 0x4949 && order !== 0x4d4d) throw new Error("not a TIFF file");
  const le = order === 0x4949;
  if (view.getUint16(2, le) !== 42) throw new Error("BigTIFF is not supported in the browser");
  /** @type {Ifd[]} */
  const ifds = [];
  let offset = view.getUint32(4, le);
  while (offset && ifds.length < Math.max(1, wantChannels)) {
    const { ifd, next } = readIfd(view, le, offset);
    ifds.push(ifd);
    offset = next;
  }
  const head = ifds[0];
  const width = first(head, TAG.width, 0);
  const height = first(head, TAG.height, 0);
  const bits = first(head, TAG.bits, 1);
  const samples = first(head, TAG.samples, 1);
  const format = first(head, TAG.sampleFormat, 1);
  const float = format === 3;
  if (!((bits === 8 || bits === 16) && format === 1) && !(bits === 32 && float)) {
    throw new Error(`TIFF with ${bits}-bit samples of format ${format} is not supported here`);
  }
  let channels = [];
  if (samples > 1) channels = await readPage(buffer, head, le);
  else {
    for (const ifd of ifds) {
      if (first(ifd, TAG.width, 0) !== width || first(ifd, TAG.height, 0) !== height) break;
      channels.push(...(await readPage(buffer, ifd, le)));
    }
  }
  // An RGB image's 4th sample is alpha, which carries no signal.
  if (first(head, TAG.photometric, 1) === 2 && channels.length === 4) channels = channels.slice(0, 3);
  return { width, height, bitDepth: bits, float, channels };
}

/**
 * @param {ArrayBuffer} buffer @param {Ifd} ifd @param {boolean} le
 * @returns {Promise<(Uint8Array | Uint16Array | Float32Array)[]>}
 */
async function readPage(buffer, ifd, le) {
  const width = first(ifd, TAG.width, 0);
  const height = first(ifd, TAG.height, 0);
  const bits = first(ifd, TAG.bits, 8);
  const bytesPer = bits / 8;
  const samples = first(ifd, TAG.samples, 1);
  const planar = first(ifd, TAG.planar, 1) === 2;
  const compression = first(ifd, TAG.compression, 1);
  const predictor = first(ifd, TAG.predictor, 1);
  if (![1, 8, 32946].includes(compression)) throw new Error(`TIFF compression ${compression} is not supported here`);
  if (predictor !== 1 && !(predictor === 2 && bits !== 32)) throw new Error(`TIFF predictor ${predictor} is not supported here`);
  const tiled = ifd.has(TAG.tileOffsets);
  const blockW = tiled ? first(ifd, TAG.tileWidth, width) : width;
  const blockH = tiled ? first(ifd, TAG.tileLength, height) : Math.min(first(ifd, TAG.rowsPerStrip, height), height);
  const offsets = ifd.get(tiled ? TAG.tileOffsets : TAG.stripOffsets) ?? [];
  const counts = ifd.get(tiled ? TAG.tileCounts : TAG.stripCounts) ?? [];
  const across = tiled ? Math.ceil(width / blockW) : 1;
  const down = Math.ceil(height / blockH);
  const planes = planar ? samples : 1;
  const perPixel = planar ? 1 : samples;
  const n = width * height;
  const out = Array.from({ length: samples }, () =>
    bits === 8 ? new Uint8Array(n) : bits === 16 ? new Uint16Array(n) : new Float32Array(n));
  for (let plane = 0; plane < planes; plane++) {
    for (let by = 0; by < down; by++) {
      for (let bx = 0; bx < across; bx++) {
        const index = plane * across * down + by * across + bx;
        if (index >= offsets.length) throw new Error("TIFF block table is short");
        let block = new Uint8Array(buffer, offsets[index], counts[index]);
        if (compression !== 1) block = await inflate(block);
        // A strip's width is the image width; a tile's is the tile width.
        const rowW = blockW;
        const rows = tiled ? blockH : Math.min(blockH, height - by * blockH);
        const rowBytes = rowW * perPixel * bytesPer;
        if (block.length < rows * rowBytes) throw new Error("truncated TIFF data");
        const dv = new DataView(block.buffer, block.byteOffset, block.byteLength);
        for (let r = 0; r < rows; r++) {
          const y = by * blockH + r;
          if (y >= height) break;
          const base = r * rowBytes;
          if (predictor === 2) undoPredictor(dv, base, rowW, perPixel, bits, le);
          for (let c = 0; c < rowW; c++) {
            const x = bx * blockW + c;
            if (x >= width) break;
            for (let s = 0; s < perPixel; s++) {
              const at = base + (c * perPixel + s) * bytesPer;
              const value = bits === 8 ? dv.getUint8(at) : bits === 16 ? dv.getUint16(at, le) : dv.getFloat32(at, le);
              out[planar ? plane : s][y * width + x] = value;
            }
          }
        }
      }
    }
  }
  return out;
}

/**
 * Horizontal differencing (TIFF predictor 2), undone in place on one row.
 * @param {DataView} dv @param {number} base @param {number} w @param {number} spp
 * @param {number} bits @param {boolean} le
 */
function undoPredictor(dv, base, w, spp, bits, le) {
  for (let i = spp; i < w * spp; i++) {
    if (bits === 8) dv.setUint8(base + i, dv.getUint8(base + i) + dv.getUint8(base + i - spp));
    else dv.setUint16(base + i * 2, dv.getUint16(base + i * 2, le) + dv.getUint16(base + (i - spp) * 2, le), le);
  }
}
