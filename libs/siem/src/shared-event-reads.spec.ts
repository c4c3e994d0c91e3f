import { HEADERS } from '@forgeone/contracts';
import type { OpenedEvent, StoredMessage } from '@forgeone/event-store';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { SharedEventReads } from './shared-event-reads.js';

// An opener that records what it was asked and answers by the payload: "ok" opens, anything else is refused.
function recordingOpener() {
  const asked: StoredMessage[] = [];
  return {
    asked,
    open(msg: StoredMessage): OpenedEvent {
      asked.push(msg);
      const text = Buffer.from(msg.data).toString();
      if (text.startsWith('ok')) return { ok: true, event: { id: `${msg.seq}:${text}` } as never, writer: null };
      return { ok: false, refusal: { reason: 'bad-signature', message: 'no', sequence: msg.seq, subject: msg.subject, writer: null, aggregate: null } };
    },
  };
}

const message = (seq: number, payload: string, signature = 'sig', subject = 'forgeone.evt.plugin.a'): StoredMessage => {
  const headers = natsHeaders();
  headers.set(HEADERS.eventWriter, 'registry');
  headers.set(HEADERS.eventSignature, signature);
  // The payload as a view into a larger buffer, as a receive buffer hands it over.
  const whole = Buffer.from(`xx${payload}yy`);
  return { seq, subject, data: whole.subarray(2, 2 + Buffer.byteLength(payload)), headers };
};

describe('siem shared event reads - one verification for sinks reading together', () => {
  it('the same message read by a second sink is not opened again; the answer is the first one', () => {
    const opener = recordingOpener();
    const reads = new SharedEventReads(opener);
    const first = reads.open(message(1, 'ok one'));
    const second = reads.open(message(1, 'ok one'));
    expect(second).toBe(first);
    expect(opener.asked).toHaveLength(1);
    // A refusal is shared the same way: a forged message is refused for every sink.
    expect(reads.open(message(2, 'forged')).ok).toBe(false);
    expect(reads.open(message(2, 'forged')).ok).toBe(false);
    expect(opener.asked).toHaveLength(2);
  });

  it('other bytes, subject or authorship headers at a verified sequence are opened on their own, never given the earlier answer', () => {
    const opener = recordingOpener();
    const reads = new SharedEventReads(opener);
    expect(reads.open(message(5, 'ok original')).ok).toBe(true);
    expect(reads.open(message(5, 'forged same length!')).ok).toBe(false);
    expect(reads.open(message(5, 'ok originaL')).ok).toBe(true);
    expect(reads.open(message(5, 'ok originaL', 'other-sig')).ok).toBe(true);
    expect(reads.open(message(5, 'ok originaL', 'other-sig', 'forgeone.evt.plugin.b')).ok).toBe(true);
    const noHeaders = { ...message(5, 'ok originaL', 'other-sig', 'forgeone.evt.plugin.b'), headers: undefined };
    reads.open(noHeaders);
    expect(opener.asked).toHaveLength(6);
  });

  it('the payload kept is a copy: a receive buffer reused afterwards does not make other bytes look verified', () => {
    const opener = recordingOpener();
    const reads = new SharedEventReads(opener);
    const msg = message(7, 'ok kept');
    reads.open(msg);
    (msg.data as Buffer).write('no kept');
    expect(reads.open(msg).ok).toBe(false);
    expect(opener.asked).toHaveLength(2);
  });

  it('keeps only the most recent sequences', () => {
    const opener = recordingOpener();
    const reads = new SharedEventReads(opener, 3);
    for (let seq = 1; seq <= 5; seq++) reads.open(message(seq, `ok ${seq}`));
    reads.open(message(5, 'ok 5'));
    reads.open(message(3, 'ok 3'));
    expect(opener.asked).toHaveLength(5);
    reads.open(message(1, 'ok 1'));
    expect(opener.asked).toHaveLength(6);
  });
});
