/**
 * Thrown by an event handler to stop its server's consumer for good: the event is neither
 * acked nor nak'ed, nothing more is pulled, and the health check reports the consumer as
 * not ready with `reason`. Used where skipping an event would corrupt a projection (a gap
 * in the sequence, an event that can never be applied).
 */
export class HaltConsumerError extends Error {
  override readonly name = 'HaltConsumerError';
  readonly code = 'BUS.CONSUMER_HALTED';
  constructor(readonly reason: string, options?: ErrorOptions) {
    super(reason, options);
  }
}

export function isHaltConsumerError(error: unknown): error is HaltConsumerError {
  return error instanceof HaltConsumerError || (error instanceof Error && error.name === 'HaltConsumerError' && typeof (error as { reason?: unknown }).reason === 'string');
}
