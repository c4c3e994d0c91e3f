import { createHash } from 'node:crypto';

const encoder = new TextEncoder();
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * DSSE v1 pre-authentication encoding: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, with
 * lengths as ASCII decimal byte counts. The signature covers these bytes, so the payload type is
 * authenticated together with the payload.
 */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = encoder.encode(payloadType);
  const header = encoder.encode(`DSSEv1 ${type.byteLength} ${payloadType} ${payload.byteLength} `);
  const out = new Uint8Array(header.byteLength + payload.byteLength);
  out.set(header, 0);
  out.set(payload, header.byteLength);
  return out;
}

/** Decodes standard padded base64, or returns undefined for anything else (white space, URL-safe alphabet, bad padding). */
export function decodeStrictBase64(text: string): Uint8Array | undefined {
  if (!STRICT_BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // Non-zero bits in the final padding position would decode to the same bytes as another string.
  if (bytes.toString('base64') !== text) return undefined;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Bytes a strict base64 string decodes to, without decoding it. */
export function base64DecodedLength(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return Math.floor((text.length * 3) / 4) - padding;
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Lowercase hex sha256. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** `sha256:<hex>`, the platform's digest notation. */
export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${sha256Hex(bytes)}`;
}

/** Accepts `sha256:<hex>` or bare hex; undefined when it is neither. */
export function hexOfDigest(digest: string): string | undefined {
  const hex = digest.startsWith('sha256:') ? digest.slice('sha256:'.length) : digest;
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}
