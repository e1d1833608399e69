// @ts-check
/**
 * What the annotate page loads: the image's samples (decoded in the browser when it can, else the
 * server's 8-bit rendering) and the mask to start from (saved annotation, proposal, or empty).
 */
import { ApiError, getJson, request } from "../lib/api.js";
import { decodePng } from "../lib/png.js";
import { decodeTiff } from "../lib/tiff.js";

/** @typedef {import("../lib/png.js").Raster} Raster */

/**
 * The original samples when the browser can read them (TIFF or PNG, 8/16-bit, float), else the
 * server's 8-bit rendering.
 * @param {any} image
 * @returns {Promise<{raster: Raster, rgb: boolean, source: string}>}
 */
export async function loadRaster(image) {
  let why = "";
  if (image.format === "tiff" || image.format === "png") {
    try {
      const buffer = await (await request(`/images/${image.id}/file`)).arrayBuffer();
      const raster = image.format === "tiff" ? await decodeTiff(buffer, image.channels) : await decodePng(buffer);
      if (raster.width === image.width && raster.height === image.height && raster.channels.length) {
        const rgb = raster.channels.length === 3 && image.channels === 3 && !raster.float;
        return { raster, rgb, source: `original ${image.dtype}` };
      }
      why = "unexpected layout";
    } catch (e) {
      why = e instanceof Error ? e.message : String(e);
    }
  }
  const blob = await (await request(`/images/${image.id}/render`)).blob();
  const bitmap = await createImageBitmap(blob);
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = /** @type {OffscreenCanvasRenderingContext2D} */ (canvas.getContext("2d"));
  ctx.drawImage(bitmap, 0, 0);
  const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
  const n = bitmap.width * bitmap.height;
  const planes = (image.channels === 1 ? [0] : [0, 1, 2]).map((c) => {
    const plane = new Uint8Array(n);
    for (let i = 0; i < n; i++) plane[i] = rgba[i * 4 + c];
    return plane;
  });
  const raster = { width: bitmap.width, height: bitmap.height, bitDepth: 8, float: false, channels: planes };
  return { raster, rgb: planes.length === 3, source: `server rendering, 8-bit${why ? ` (${why})` : ""}` };
}

/** A label image PNG (8 or 16-bit) as 16-bit labels. @param {Response} response @returns {Promise<Uint16Array>} */
export async function labelsOf(response) {
  const raster = await decodePng(await response.arrayBuffer());
  return Uint16Array.from(raster.channels[0]);
}

/**
 * The mask to start from: the latest saved annotation, else the active model's proposal, else empty.
 * @param {any} image
 */
export async function loadInitialMask(image) {
  try {
    const response = await request(`/images/${image.id}/annotation`);
    const labels = await labelsOf(response);
    const version = Number(response.headers.get("X-Annotation-Version")) || null;
    /** @type {Record<string, number> | null} */
    let objectClasses = null;
    try {
      const versions = await getJson(`/images/${image.id}/annotation/versions`);
      const last = versions.data[versions.data.length - 1];
      objectClasses = last?.object_classes ?? null;
    } catch { /* classes default to 1 */ }
    return { labels, source: "annotation", version, modelId: null, objectClasses, warning: "" };
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
  }
  let warning = "";
  try {
    const proposal = await loadProposal(image);
    if (proposal) return { ...proposal, source: "proposal", version: null, objectClasses: null, warning };
  } catch (e) {
    warning = `The proposal could not be loaded (${e instanceof Error ? e.message : e}); starting from an empty mask.`;
  }
  return { labels: null, source: "empty", version: null, modelId: null, objectClasses: null, warning };
}

/** @param {any} image @returns {Promise<{labels: Uint16Array, modelId: number | null} | null>} */
export async function loadProposal(image) {
  try {
    const response = await request(`/images/${image.id}/prediction?format=png`);
    const modelId = Number(response.headers.get("X-Model-Id")) || null;
    return { labels: await labelsOf(response), modelId };
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405 || e.status === 409)) return null;
    throw e;
  }
}
