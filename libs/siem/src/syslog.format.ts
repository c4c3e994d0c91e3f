import { cefExtensions, cefHeaderPrefix } from './cef.format.js';
import type { SiemEvent } from './siem-event.js';
import { cefSeverity, SIEM_SEVERITIES, severityOf, severityRank, syslogSeverity } from './severity.js';

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

/**
 * RFC 5424 messages carrying CEF for one HOSTNAME, exactly {@link renderSyslogMessage} of {@link renderCef}:
 * what depends only on the event's type and severity (PRI, HOSTNAME, MSGID, the CEF header) is made once
 * per pair, and the severity is judged once per event instead of once per format.
 */
export class SyslogCefRenderer {
  private readonly heads = new Map<string, TypeHeads>();

  constructor(private readonly hostToken: string) {}

  message(e: SiemEvent): string {
    const { sequence, event } = e;
    const rank = severityRank(severityOf(event));
    const heads = this.heads.get(event.type) ?? this.headsOf(event.type);
    return `${PRI_HEADS[rank]}${event.time}${heads.afterTime}${escapeSdValue(event.id)}" sequence="${sequence}" tenant="${escapeSdValue(event.tenant)}"] ${heads.cef[rank]}${cefExtensions(e)}`;
  }

  private headsOf(type: string): TypeHeads {
    const heads: TypeHeads = {
      afterTime: ` ${this.hostToken} forgeone - ${msgIdOf(type)} [${SYSLOG_SD_ID} eventId="`,
      cef: SIEM_SEVERITIES.map((severity) => `${cefHeaderPrefix(type)}${cefSeverity(severity)}|`),
    };
    // Bounded like every cache of outside input: a flood of odd types is rendered without one.
    if (this.heads.size < 1_024) this.heads.set(type, heads);
    return heads;
  }
}
interface TypeHeads {
  /** From the space after TIMESTAMP to the opening quote of the event id. */
  readonly afterTime: string;
  /** The CEF header up to the extensions, by severity rank. */
  readonly cef: readonly string[];
}
const PRI_HEADS = SIEM_SEVERITIES.map((severity) => `<${SYSLOG_FACILITY * 8 + syslogSeverity(severity)}>1 `);

/** RFC 6587 octet-counting framing: the message's length in bytes, a space, the message. */
export function octetCountedFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
