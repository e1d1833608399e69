// @ts-check
/** Client side of the loop endpoints, tolerant of a server that does not have them yet. */
import { ApiError, getJson } from "./api.js";

/**
 * The next image to annotate: the server's `next` endpoint, or, on a server without it, the first
 * unlabeled (then proposed) image of the listing.
 * @param {number} collectionId @param {string} [strategy] @param {number} [exclude] an image id to skip
 * @returns {Promise<any | null>} null when none is left
 */
export async function nextImage(collectionId, strategy = "", exclude) {
  try {
    const q = strategy ? `?strategy=${encodeURIComponent(strategy)}` : "";
    const image = await getJson(`/collections/${collectionId}/next${q}`);
    if (!image || image.id !== exclude) return image;
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404 && e.status !== 405) throw e;
    if (!e.routeMissing) return null;
  }
  for (const status of ["unlabeled", "proposed"]) {
    /** @type {{data: any[]}} */
    const page = await getJson(`/collections/${collectionId}/images?status=${status}&limit=100`);
    const found = page.data.find((im) => im.id !== exclude);
    if (found) return found;
  }
  return null;
}

/**
 * @param {number} collectionId
 * @returns {Promise<any[] | null>} the model versions, or null when the server has no models endpoint
 */
export async function listModels(collectionId) {
  try {
    return (await getJson(`/collections/${collectionId}/models`)).data;
  } catch (e) {
    if (e instanceof ApiError && e.routeMissing) return null;
    throw e;
  }
}
