/**
 * Thrown by an event handler to stop its server's consumer for good: the event is neither
 * acked nor nak'ed, nothing more is pulled, and the health check reports the consumer as
 * not ready with `reason`. Used where skipping an event would corrupt a projection (a gap
 * in the sequence, an event that can never be applied). A batch handler names the `sequence` it
 * stopped at: the events of the batch before it are acked.
 */
export class HaltConsumerError extends Error {
  override readonly name = 'HaltConsumerError';
  readonly code = 'BUS.CONSUMER_HALTED';
  readonly sequence?: number;
  constructor(readonly reason: string, options?: ErrorOptions & { readonly sequence?: number }) {
    super(reason, options);
    if (options?.sequence !== undefined) this.sequence = options.sequence;
  }
}

export function isHaltConsumerError(error: unknown): error is HaltConsumerError {
  return error instanceof HaltConsumerError || (error instanceof Error && error.name === 'HaltConsumerError' && typeof (error as { reason?: unknown }).reason === 'string');
}
