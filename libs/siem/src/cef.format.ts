import { dataField, type SiemEvent } from './siem-event.js';
import { cefSeverity, severityOf } from './severity.js';

const CEF_HEADER_SPECIAL = /[\\|\r\n]/;
const CEF_EXTENSION_SPECIAL = /[\\=\r\n]/;

/**
 * Escapes a CEF header field (ArcSight CEF spec, "Character Encoding"): a backslash and a pipe are
 * escaped with a backslash. The spec allows no line break in a header at all, so CR and LF become a
 * space rather than ending the line.
 */
export function escapeCefHeader(value: string): string {
  if (!CEF_HEADER_SPECIAL.test(value)) return value;
  return value.replace(/[\\|\r\n]/g, (ch) => (ch === '\\' ? '\\\\' : ch === '|' ? '\\|' : ' '));
}

/**
 * Escapes a CEF extension value: a backslash and an equals sign are escaped with a backslash, and a
 * line break is written as `\n` (CR as `\r`), so no value can start a new key, header or line.
 * A pipe needs no escape in extensions.
 */
export function escapeCefExtension(value: string): string {
  let i = value.search(CEF_EXTENSION_SPECIAL);
  if (i < 0) return value;
  // One pass from the first special character: the event's data as JSON holds several, and chained replaces copied it once each.
  let escaped = '';
  let from = 0;
  for (; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === BACKSLASH || c === EQUALS || c === CR || c === LF) {
      escaped += value.slice(from, i) + (c === BACKSLASH ? '\\\\' : c === EQUALS ? '\\=' : c === CR ? '\\r' : '\\n');
      from = i + 1;
    }
  }
  return escaped + value.slice(from);
}
const BACKSLASH = 92;
const EQUALS = 61;
const CR = 13;
const LF = 10;

/** What the CEF header says about the product that writes it. */
export interface CefDevice {
  readonly vendor: string;
  readonly product: string;
  readonly version: string;
}

export const FORGEONE_CEF_DEVICE: CefDevice = { vendor: 'ForgeOne', product: 'ForgeOne Platform', version: '1' };

/** The longest `msg` value (the event's data as JSON) a CEF line carries; longer data is cut and marked. */
export const CEF_MAX_MESSAGE = 4000;

/** `io.forgeone.plugin.rolled_back.v1` → `plugin rolled back`. */
export function eventTitle(type: string): string {
  const parts = type.split('.');
  return parts.length >= 5 ? `${parts[2]} ${parts[3]}`.replace(/_/g, ' ') : type;
}

// The header up to the severity depends only on the device and the type: made once per pair. Types are
// few (the catalogue and the forwarder's own records); a bound keeps a flood of odd types from growing it.
const HEADER_PREFIXES = new WeakMap<CefDevice, Map<string, string>>();
/** `CEF:0|vendor|product|version|type|title|`, escaped: everything of the header before the severity. */
export function cefHeaderPrefix(type: string, device: CefDevice = FORGEONE_CEF_DEVICE): string {
  let byType = HEADER_PREFIXES.get(device);
  if (!byType) HEADER_PREFIXES.set(device, (byType = new Map()));
  let prefix = byType.get(type);
  if (prefix === undefined) {
    prefix = `CEF:0|${escapeCefHeader(device.vendor)}|${escapeCefHeader(device.product)}|${escapeCefHeader(device.version)}|${escapeCefHeader(type)}|${escapeCefHeader(eventTitle(type))}|`;
    if (byType.size < 1_024) byType.set(type, prefix);
  }
  return prefix;
}

/**
 * One event as a CEF:0 line. The event id is `externalId` (the de-duplication key), the stream
 * sequence `cn1`, tenant `cs1`, subject `cs2`, plugin `cs3`, and the event's data as JSON in `msg`.
 */
export function renderCef(e: SiemEvent, device: CefDevice = FORGEONE_CEF_DEVICE): string {
  return `${cefHeaderPrefix(e.event.type, device)}${cefSeverity(severityOf(e.event))}|${cefExtensions(e)}`;
}

/**
 * The extensions of an event's CEF line, from `rt=` to the end. Built by concatenation on the hot path
 * (no arrays of pairs): the forwarder renders every event.
 */
export function cefExtensions({ sequence, event }: SiemEvent): string {
  let line =
    `rt=${epochMillis(event.time)} externalId=${escapeCefExtension(event.id)}` +
    ` cn1Label=streamSequence cn1=${sequence} suser=${escapeCefExtension(event.actor)} cs1Label=tenant cs1=${escapeCefExtension(event.tenant)}` +
    ` cs2Label=subject cs2=${escapeCefExtension(event.subject)}`;
  const plugin = dataField(event, 'name', 'plugin');
  if (plugin) line += ` cs3Label=plugin cs3=${escapeCefExtension(plugin)}`;
  const reason = dataField(event, 'reason');
  if (reason) line += ` reason=${escapeCefExtension(reason)}`;
  let data = JSON.stringify(event.data ?? null);
  if (data.length > CEF_MAX_MESSAGE) data = `${data.slice(0, CEF_MAX_MESSAGE)}...(truncated)`;
  return `${line} msg=${escapeCefExtension(data)}`;
}

/**
 * `Date.parse(time)`, with the parse of the time's whole second kept from the previous call: events of a
 * batch mostly share their second, and only the milliseconds change. Any other shape is parsed whole.
 */
export function epochMillis(time: string): number {
  // The canonical CloudEvents shape, `YYYY-MM-DDTHH:MM:SS.mmmZ`: three digits of milliseconds before the Z.
  if (time.length !== 24 || time.charCodeAt(23) !== 90 || time.charCodeAt(19) !== 46) return Date.parse(time);
  const m0 = time.charCodeAt(20) - 48;
  const m1 = time.charCodeAt(21) - 48;
  const m2 = time.charCodeAt(22) - 48;
  if (!(m0 >= 0 && m0 <= 9 && m1 >= 0 && m1 <= 9 && m2 >= 0 && m2 <= 9)) return Date.parse(time);
  const second = time.slice(0, 19);
  if (second !== lastSecond) {
    lastSecondMillis = Date.parse(`${second}Z`);
    lastSecond = second;
  }
  return lastSecondMillis + m0 * 100 + m1 * 10 + m2;
}
let lastSecond = '';
let lastSecondMillis = Number.NaN;
