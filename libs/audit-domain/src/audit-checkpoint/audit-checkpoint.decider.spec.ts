import { AUDIT_CHECKPOINT_EVENT_TYPES, type AuditCheckpointSigned } from '@forgeone/contracts';
import { foldEvents } from '@forgeone/event-sourcing';
import { describe, expect, it } from 'vitest';
import type { AuditCheckpointCommand } from './audit-checkpoint.commands.js';
import { auditCheckpointDecider, type AuditCheckpointEvent } from './audit-checkpoint.decider.js';

const checkpoint = (treeSize: number, origin = 'forgeone.local/audit'): AuditCheckpointSigned => ({
  origin,
  treeSize,
  rootHash: 'a'.repeat(64),
  keyId: 'b'.repeat(64),
  publicKey: 'MCowBQYDK2VwAyEA' + 'A'.repeat(44),
  note: `${origin}\n${treeSize}\nqqqq\n\n— ${origin} xxxx\n`,
  signedAt: '2026-12-07T03:00:00.000Z',
});
const signed = (treeSize: number, origin?: string): AuditCheckpointEvent => ({ type: AUDIT_CHECKPOINT_EVENT_TYPES.checkpointSigned, data: checkpoint(treeSize, origin) });
const record = (treeSize: number, newLeaves: number, origin?: string): AuditCheckpointCommand => ({ type: 'RecordAuditCheckpoint', data: checkpoint(treeSize, origin), newLeaves });

function given(...events: AuditCheckpointEvent[]) {
  const state = foldEvents(auditCheckpointDecider, events);
  return { when: (command: AuditCheckpointCommand) => () => auditCheckpointDecider.decide(command, state) };
}

describe('audit checkpoint decider', () => {
  it('audit checkpoint - the first checkpoint is recorded', () => {
    expect(given().when(record(5, 5))()).toEqual([signed(5)]);
  });

  it('audit checkpoint - a larger tree with new leaves is recorded', () => {
    expect(given(signed(5)).when(record(9, 3))()).toEqual([signed(9)]);
  });

  it('audit checkpoint - nothing when only checkpoints were added since the last one', () => {
    expect(given(signed(5)).when(record(6, 0))()).toEqual([]);
  });

  it('audit checkpoint - nothing when the tree is not larger than the last checkpoint (a racing replica signed first)', () => {
    expect(given(signed(5), signed(9)).when(record(9, 4))()).toEqual([]);
    expect(given(signed(9)).when(record(7, 2))()).toEqual([]);
  });

  it('audit checkpoint - a checkpoint of another origin is refused', () => {
    expect(given(signed(5)).when(record(9, 3, 'elsewhere/audit'))).toThrow(/belongs to another log/);
  });
});
