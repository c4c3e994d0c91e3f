import type { EventAuthorship, MessageAuthorship, MessageToSign } from './event-authorship.js';

/** Most messages under one batch signature: inclusion paths stay at 8 steps or fewer. */
export const MAX_SIGNING_BATCH = 256;

interface Waiting {
  readonly messages: readonly MessageToSign[];
  /** The authorship of each of `messages`, filled in by the batches they land in. */
  readonly signed: MessageAuthorship[];
  readonly resolve: (signed: MessageAuthorship[]) => void;
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

  /** Resolves with each message's authorship header values, in order ({@link EventAuthorship.signAll}). */
  sign(messages: readonly MessageToSign[]): Promise<MessageAuthorship[]> {
    // Refuse an aggregate this process may not write now, not in another append's batch.
    for (const { aggregate } of messages) this.authorship.assertWrites(aggregate);
    return new Promise<MessageAuthorship[]>((resolve, reject) => {
      this.waiting.push({ messages, signed: new Array<MessageAuthorship>(messages.length), resolve, reject });
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
    // batch[i] is message at[i] of the append from[i].
    let batch: MessageToSign[] = [];
    let from: Waiting[] = [];
    let at: number[] = [];
    const signBatch = () => {
      try {
        const signed = this.authorship.signAll(batch);
        for (let i = 0; i < signed.length; i++) from[i].signed[at[i]] = signed[i];
      } catch (error) {
        for (const entry of from) if (!failed.has(entry)) failed.set(entry, error);
      }
      batch = [];
      from = [];
      at = [];
    };
    for (const entry of waiting) {
      // An append's messages share a batch unless they alone exceed its size.
      if (batch.length > 0 && batch.length + entry.messages.length > MAX_SIGNING_BATCH) signBatch();
      for (let i = 0; i < entry.messages.length; i++) {
        if (batch.length === MAX_SIGNING_BATCH) signBatch();
        batch.push(entry.messages[i]);
        from.push(entry);
        at.push(i);
      }
    }
    if (batch.length > 0) signBatch();
    for (const entry of waiting) {
      if (failed.has(entry)) entry.reject(failed.get(entry));
      else entry.resolve(entry.signed);
    }
  }
}
