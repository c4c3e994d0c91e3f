import type { EventAuthorship, UnsignedMessage } from './event-authorship.js';

/** Most messages under one batch signature: inclusion paths stay at 8 steps or fewer. */
export const MAX_SIGNING_BATCH = 256;

interface Waiting {
  readonly messages: readonly UnsignedMessage[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Gathers the messages that concurrent appends hand over in one turn of the event loop and signs
 * them together, one Ed25519 signature per batch of up to {@link MAX_SIGNING_BATCH}: a signature
 * is the largest single cost of an append, and under load the appends resumed by one burst of acknowledgements
 * arrive together. A message waits at most until the loop's check phase.
 */
export class SigningQueue {
  private waiting: Waiting[] = [];
  private scheduled = false;

  constructor(private readonly authorship: EventAuthorship) {}

  /** Resolves once every message carries its writer, signature and proof headers. */
  sign(messages: readonly UnsignedMessage[]): Promise<void> {
    // Refuse an aggregate this process may not write now, not in another append's batch.
    for (const { aggregate } of messages) this.authorship.assertWrites(aggregate);
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ messages, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const waiting = this.waiting;
    this.waiting = [];
    const failed = new Map<Waiting, unknown>();
    let batch: UnsignedMessage[] = [];
    let members = new Set<Waiting>();
    const signBatch = () => {
      try {
        this.authorship.signAllInto(batch);
      } catch (error) {
        for (const member of members) if (!failed.has(member)) failed.set(member, error);
      }
      batch = [];
      members = new Set();
    };
    for (const entry of waiting) {
      // An append's messages share a batch unless they alone exceed its size.
      if (batch.length > 0 && batch.length + entry.messages.length > MAX_SIGNING_BATCH) signBatch();
      for (const message of entry.messages) {
        if (batch.length === MAX_SIGNING_BATCH) signBatch();
        batch.push(message);
        members.add(entry);
      }
    }
    if (batch.length > 0) signBatch();
    for (const entry of waiting) {
      if (failed.has(entry)) entry.reject(failed.get(entry));
      else entry.resolve();
    }
  }
}
