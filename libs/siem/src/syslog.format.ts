import type { SiemEvent } from './siem-event.js';
import { severityOf, syslogSeverity } from './severity.js';

/** RFC 5424 facility 13, "log audit". */
export const SYSLOG_FACILITY = 13;

/** The SD-ID of ForgeOne's structured data: 32473 is the enterprise number RFC 5612 reserves for examples and documentation. */
export const SYSLOG_SD_ID = 'forgeone@32473';

/** Escapes an RFC 5424 SD-PARAM value: `"`, `\` and `]` take a backslash. */
export function escapeSdValue(value: string): string {
  return value.replace(/["\\\]]/g, (ch) => `\\${ch}`);
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
export function renderSyslogMessage({ sequence, event }: SiemEvent, payload: string, hostname: string): string {
  const pri = SYSLOG_FACILITY * 8 + syslogSeverity(severityOf(event));
  const msgId = syslogToken(event.type.split('.')[2] ?? '-', 32);
  const sd = `[${SYSLOG_SD_ID} eventId="${escapeSdValue(event.id)}" sequence="${sequence}" tenant="${escapeSdValue(event.tenant)}"]`;
  return `<${pri}>1 ${event.time} ${syslogToken(hostname, 255)} forgeone - ${msgId} ${sd} ${payload}`;
}

/** RFC 6587 octet-counting framing: the message's length in bytes, a space, the message. */
export function octetCountedFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
