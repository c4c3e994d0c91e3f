import { sign } from 'node:crypto';
import {
  canonicalJson,
  DsseEnvelopeSchema,
  ForgeOneError,
  IN_TOTO_PAYLOAD_TYPE,
  parseOrThrow,
  PluginStatementSchema,
  SIGNATURE_LIMITS,
  type DsseEnvelope,
  type PluginStatement,
} from '@forgeone/contracts';
import { decodeStrictBase64, encodeBase64, pae } from './dsse.js';
import { keyIdOf, toPrivateKey, type PrivateKeyInput } from './keys.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Signs a plugin statement: a DSSE envelope with payload type `application/vnd.in-toto+json`, the
 * statement's canonical JSON as payload and one Ed25519 signature over PAE(type, payload).
 */
export function signEnvelope(statement: PluginStatement, privateKey: PrivateKeyInput): DsseEnvelope {
  const checked = parseOrThrow(PluginStatementSchema, statement, 'COMMAND.INVALID', 'the plugin statement');
  const payload = encoder.encode(canonicalJson(checked));
  if (payload.byteLength > SIGNATURE_LIMITS.payloadBytes) {
    throw new ForgeOneError('SIGNATURE.TOO_LARGE', `the statement is ${payload.byteLength} bytes; at most ${SIGNATURE_LIMITS.payloadBytes} are accepted`);
  }
  const key = toPrivateKey(privateKey);
  return {
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    payload: encodeBase64(payload),
    signatures: [{ keyid: keyIdOf(key), sig: encodeBase64(sign(null, pae(IN_TOTO_PAYLOAD_TYPE, payload), key)) }],
  };
}

/**
 * Adds a signature over the same payload (for thresholds). Refuses a second signature by the same
 * key (SIGNATURE.MALFORMED would be wrong: the envelope is fine; this is COMMAND.INVALID).
 */
export function addSignature(envelope: DsseEnvelope, privateKey: PrivateKeyInput): DsseEnvelope {
  const checked = parseOrThrow(DsseEnvelopeSchema, envelope, 'SIGNATURE.MALFORMED', 'the signature envelope');
  const payload = decodeStrictBase64(checked.payload);
  if (!payload) throw new ForgeOneError('SIGNATURE.MALFORMED', 'the envelope payload is not standard base64');
  const key = toPrivateKey(privateKey);
  const keyid = keyIdOf(key);
  if (checked.signatures.some((s) => s.keyid === keyid)) {
    throw new ForgeOneError('COMMAND.INVALID', `the envelope is already signed by key ${keyid}; a threshold counts distinct keys, so sign with another key`, { keyId: keyid });
  }
  if (checked.signatures.length >= SIGNATURE_LIMITS.signatures) {
    throw new ForgeOneError('SIGNATURE.TOO_LARGE', `the envelope already holds ${checked.signatures.length} signatures, the most accepted`);
  }
  const sig = encodeBase64(sign(null, pae(checked.payloadType, payload), key));
  return { ...checked, signatures: [...checked.signatures, { keyid, sig }] };
}

/** The statement an envelope carries, parsed and checked (no signature is verified). Throws SIGNATURE.*. */
export function readEnvelopeStatement(envelope: DsseEnvelope): PluginStatement {
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new ForgeOneError('SIGNATURE.UNKNOWN_PAYLOAD_TYPE', `payload type "${envelope.payloadType}" is not ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  const payload = decodeStrictBase64(envelope.payload);
  if (!payload) throw new ForgeOneError('SIGNATURE.MALFORMED', 'the envelope payload is not standard base64');
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(payload));
  } catch (error) {
    throw new ForgeOneError('SIGNATURE.MALFORMED', `the envelope payload is not UTF-8 JSON: ${(error as Error).message}`);
  }
  return parseOrThrow(PluginStatementSchema, value, 'SIGNATURE.MALFORMED', 'the signed statement');
}

/** Parses plugin.sig.json text; throws SIGNATURE.TOO_LARGE or SIGNATURE.MALFORMED naming the problem. */
export function parseEnvelope(text: string): DsseEnvelope {
  if (encoder.encode(text).byteLength > SIGNATURE_LIMITS.envelopeBytes) {
    throw new ForgeOneError('SIGNATURE.TOO_LARGE', `the signature file is larger than ${SIGNATURE_LIMITS.envelopeBytes} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ForgeOneError('SIGNATURE.MALFORMED', `the signature file is not JSON: ${(error as Error).message}`);
  }
  return parseOrThrow(DsseEnvelopeSchema, value, 'SIGNATURE.MALFORMED', 'the signature envelope');
}

/** plugin.sig.json as written: indented JSON and a final newline. */
export function serializeEnvelope(envelope: DsseEnvelope): string {
  return `${JSON.stringify({ payloadType: envelope.payloadType, payload: envelope.payload, signatures: envelope.signatures }, null, 2)}\n`;
}
