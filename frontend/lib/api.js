// @ts-check
/** The REST client: JSON in and out, `{"detail": ...}` errors raised as ApiError. */

export const API = "/api/v1";

export class ApiError extends Error {
  /** @param {number} status @param {string} message @param {boolean} [routeMissing] */
  constructor(status, message, routeMissing = false) {
    super(message);
    this.status = status;
    /** True when the server has no such endpoint (FastAPI's bare "Not Found"), not a missing row. */
    this.routeMissing = routeMissing;
    /** The error response's headers (a 409 on saving names the latest annotation version). */
    this.headers = new Headers();
  }
}

/** @param {unknown} detail */
function describe(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => (d && typeof d === "object" && "msg" in d ? `${(d.loc || []).slice(1).join(".")}: ${d.msg}` : String(d))).join("; ");
  }
  return JSON.stringify(detail);
}

/**
 * @param {Response} response
 * @returns {Promise<ApiError>}
 */
export async function errorOf(response) {
  let message = `${response.status} ${response.statusText}`;
  let missing = false;
  try {
    const body = await response.json();
    if (body && "detail" in body) {
      message = describe(body.detail);
      missing = (response.status === 404 && body.detail === "Not Found") || response.status === 405;
    }
  } catch {
    missing = response.status === 404 || response.status === 405;
  }
  const error = new ApiError(response.status, message, missing);
  error.headers = response.headers;
  return error;
}

/**
 * @param {string} path under /api/v1
 * @param {RequestInit & {json?: unknown}} [init]
 * @returns {Promise<Response>} a 2xx response
 */
export async function request(path, init = {}) {
  const { json, ...rest } = init;
  /** @type {RequestInit} */
  const options = { credentials: "same-origin", ...rest };
  if (json !== undefined) {
    options.body = JSON.stringify(json);
    options.headers = { "Content-Type": "application/json", ...(rest.headers || {}) };
  }
  const response = await fetch(API + path, options);
  if (response.status === 401 && !path.startsWith("/auth/") && path !== "/me") {
    window.dispatchEvent(new CustomEvent("maskloop:unauthorized"));
  } else if (response.ok) {
    // The session works (again, after a sign-in in another tab): "session ended" no longer holds.
    window.dispatchEvent(new CustomEvent("maskloop:authorized"));
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

/** @template T @param {string} path @param {RequestInit & {json?: unknown}} [init] @returns {Promise<T>} */
export async function getJson(path, init) {
  return (await request(path, init)).json();
}

/** @template T @param {string} path @param {unknown} body @returns {Promise<T>} */
export function postJson(path, body = {}) {
  return getJson(path, { method: "POST", json: body });
}

/**
 * Upload one file with progress, so each file gets its own bar and its own error.
 * @param {number} collectionId
 * @param {File} file
 * @param {(fraction: number) => void} onProgress
 * @returns {Promise<{data: any[], count: number}>}
 */
export function uploadFile(collectionId, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${API}/collections/${collectionId}/images`);
    xhr.withCredentials = true;
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) { onProgress(1); resolve(body); }
      else reject(new ApiError(xhr.status, body && body.detail ? describe(body.detail) : `${xhr.status} ${xhr.statusText}`));
    };
    xhr.onerror = () => reject(new ApiError(0, "network error: the server could not be reached"));
    const form = new FormData();
    form.append("files", file, file.name);
    xhr.send(form);
  });
}
