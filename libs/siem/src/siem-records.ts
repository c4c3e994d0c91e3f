import type { CloudEvent } from '@forgeone/contracts';
import type { SiemEvent } from './siem-event.js';

/**
 * Records the forwarder makes itself, never stored in the stream: the SOC's notice that a message
 * failed authorship verification, and the message `siem sink test` sends. Their types are the
 * forwarder's own (`io.forgeone.siem.*`), outside the event catalogue.
 */
export const FORGED_EVENT_TYPE = 'io.forgeone.siem.forged_event.v1';
export const SINK_TEST_TYPE = 'io.forgeone.siem.sink_test.v1';

/** What a refused message is reported by: its place and what it claims, never its payload. */
export interface ForgedMessage {
  readonly sequence: number;
  readonly subject: string;
  /** The `Ce-Type` header as published (unverified). */
  readonly claimedType: string | null;
  /** The `Nats-Msg-Id` header as published (unverified). */
  readonly claimedId: string | null;
  /** The writer the message names (unverified). */
  readonly claimedWriter: string | null;
  /** Why verification refused it (`bad-signature`, `unsigned`, `unknown-writer`, `wrong-writer`, ...). */
  readonly reason: string;
}

// Header values are the publisher's: cut to a length a SIEM field takes, control characters dropped.
function claimed(value: string | null, max = 256): string | null {
  if (value === null) return null;
  const clean = value.replace(/[\x00-\x1f\x7f]/g, '');
  return clean.length > max ? `${clean.slice(0, max)}...(truncated)` : clean;
}

/**
 * A high-severity record of a message its owner did not write: stream sequence, subject, claimed
 * type, id and writer, and the reason. The record's id is derived from the stream sequence, so a
 * redelivery carries the same id. Formats escape every field as for any event.
 */
export function forgedEventRecord(forged: ForgedMessage, now: Date): SiemEvent {
  const event: CloudEvent = {
    specversion: '1.0',
    id: `forged-${forged.sequence}`,
    source: '/forgeone/siem-forwarder',
    type: FORGED_EVENT_TYPE,
    subject: claimed(forged.subject, 512) ?? '-',
    time: now.toISOString(),
    datacontenttype: 'application/json',
    data: {
      sequence: forged.sequence,
      subject: claimed(forged.subject, 512),
      claimedType: claimed(forged.claimedType),
      claimedId: claimed(forged.claimedId),
      claimedWriter: claimed(forged.claimedWriter, 64),
      reason: forged.reason,
    },
    actor: 'siem-forwarder',
    tenant: '-',
    schemaversion: '1',
  } as CloudEvent;
  return { sequence: forged.sequence, event };
}

/** The one message `siem sink test` sends through a tenant's sink. */
export function sinkTestRecord(tenant: string, sink: string, actor: string, id: string, now: Date): SiemEvent {
  const event: CloudEvent = {
    specversion: '1.0',
    id,
    source: '/forgeone/siem-forwarder',
    type: SINK_TEST_TYPE,
    subject: sink,
    time: now.toISOString(),
    datacontenttype: 'application/json',
    data: { sink, message: 'ForgeOne SIEM sink test' },
    actor,
    tenant,
    schemaversion: '1',
  } as CloudEvent;
  return { sequence: 0, event };
}
