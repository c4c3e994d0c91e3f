import type { Logger } from '@forgeone/telemetry';
import type { MessageHandler } from '@nestjs/microservices';
import { isObservable, lastValueFrom } from 'rxjs';
import type { BusContext, EventContext } from './bus.context.js';

/** Runs a Nest handler (and, for events, the handlers chained after it) to completion. */
export async function invokeHandlerChain(handler: MessageHandler, data: unknown, ctx: BusContext | EventContext): Promise<unknown> {
  let result: unknown;
  for (let h: MessageHandler | undefined = handler; h; h = h.next as MessageHandler | undefined) {
    // What transformToObservable + lastValueFrom would give, without RxJS for a plain (awaited) result.
    const answer: unknown = await h(data, ctx);
    result = isObservable(answer) ? await lastValueFrom(answer, { defaultValue: undefined }) : answer;
  }
  return result;
}

/** Shape the default Nest RPC exception filter turns every error into (the original is lost). */
function isNestGenericError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { status?: unknown }).status === 'error' && !(error instanceof Error);
}

/** Warns once per server when handler errors arrive without their code because BusExceptionFilter is missing. */
export class MissingFilterWarning {
  private warned = false;

  constructor(private readonly log: Logger) {}

  check(error: unknown): void {
    if (this.warned || !isNestGenericError(error)) return;
    this.warned = true;
    this.log.warn('handler errors arrive as Nest\'s generic error: register BusExceptionFilter (BusModule.forRoot does) to keep error codes');
  }
}
