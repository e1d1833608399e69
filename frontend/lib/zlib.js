// @ts-check
/** zlib (RFC 1950) through the browser's Compression Streams; checksums for PNG. */

/**
 * @param {Uint8Array} data
 * @param {TransformStream<Uint8Array, Uint8Array>} stream
 * @returns {Promise<Uint8Array>}
 */
async function pipe(data, stream) {
  const out = new Blob([data]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

/** @param {Uint8Array} data zlib stream @returns {Promise<Uint8Array>} */
export function inflate(data) {
  return pipe(data, new DecompressionStream("deflate"));
}

/** @param {Uint8Array} data @returns {Promise<Uint8Array>} a zlib stream */
export function deflate(data) {
  return pipe(data, new CompressionStream("deflate"));
}

/** @type {Uint32Array | null} */
let crcTable = null;

/** CRC-32 (ISO 3309), as PNG chunks need. @param {Uint8Array} bytes @param {number} [crc] */
export function crc32(bytes, crc = 0) {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
