import type { SiemEvent } from './siem-event.js';
import { severityOf, syslogSeverity } from './severity.js';

/** RFC 5424 facility 13, "log audit". */
export const SYSLOG_FACILITY = 13;

/** The SD-ID of ForgeOne's structured data: 32473 is the enterprise number RFC 5612 reserves for examples and documentation. */
export const SYSLOG_SD_ID = 'forgeone@32473';

const SD_SPECIAL = /["\\\]]/;

/** Escapes an RFC 5424 SD-PARAM value: `"`, `\` and `]` take a backslash. */
export function escapeSdValue(value: string): string {
  return SD_SPECIAL.test(value) ? value.replace(/["\\\]]/g, (ch) => `\\${ch}`) : value;
}

/** An RFC 5424 header field (HOSTNAME, APP-NAME): printable US-ASCII without spaces, at most `max` characters, else NILVALUE. */
export function syslogToken(value: string, max: number): string {
  const token = value.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return token.length > 0 ? token : '-';
}

/**
 * One RFC 5424 message carrying `payload` (a CEF line) for `event`: PRI from facility 13 and the
 * event's severity, the event's time, MSGID the event's aggregate, and structured data naming the
 * event id (the de-duplication key), stream sequence and tenant.
 */
export function renderSyslogMessage(event: SiemEvent, payload: string, hostname: string): string {
  return syslogMessage(event, payload, cachedToken(hostname, 255));
}

/** {@link renderSyslogMessage} with HOSTNAME already a {@link syslogToken}: a transport makes it once, not once per message. */
export function syslogMessage({ sequence, event }: SiemEvent, payload: string, hostToken: string): string {
  const pri = SYSLOG_FACILITY * 8 + syslogSeverity(severityOf(event));
  return `<${pri}>1 ${event.time} ${hostToken} forgeone - ${msgIdOf(event.type)} [${SYSLOG_SD_ID} eventId="${escapeSdValue(event.id)}" sequence="${sequence}" tenant="${escapeSdValue(event.tenant)}"] ${payload}`;
}

function msgIdOf(type: string): string {
  let msgId = MSG_IDS.get(type);
  if (msgId === undefined) {
    msgId = syslogToken(type.split('.')[2] ?? '-', 32);
    if (MSG_IDS.size < 1_024) MSG_IDS.set(type, msgId);
  }
  return msgId;
}
const MSG_IDS = new Map<string, string>();

// Host names and aggregates repeat on every message: their tokens are made once (bounded, like any cache of outside input).
const TOKENS = new Map<string, string>();
function cachedToken(value: string, max: number): string {
  const key = `${max}:${value}`;
  let token = TOKENS.get(key);
  if (token === undefined) {
    token = syslogToken(value, max);
    if (TOKENS.size < 1_024) TOKENS.set(key, token);
  }
  return token;
}

/** RFC 6587 octet-counting framing: the message's length in bytes, a space, the message. */
export function octetCountedFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
