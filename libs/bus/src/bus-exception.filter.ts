import { Catch, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { BaseRpcExceptionFilter } from '@nestjs/microservices';
import { throwError, type Observable } from 'rxjs';
import { BusContext, EventContext } from './bus.context.js';

/**
 * Hands errors thrown by ForgeOne bus handlers to the transport unchanged, so it can reply
 * with their code (or halt / nak an event). Nest's default RPC filter would replace them
 * with a generic error. Other contexts keep Nest's default handling.
 */
@Catch()
export class BusExceptionFilter extends BaseExceptionFilter {
  private readonly rpcDefault = new BaseRpcExceptionFilter();

  override catch(exception: unknown, host: ArgumentsHost): Observable<unknown> | void {
    if (host.getType() === 'rpc') {
      const ctx = host.switchToRpc().getContext();
      if (ctx instanceof BusContext || ctx instanceof EventContext) return throwError(() => exception);
      return this.rpcDefault.catch(exception, host);
    }
    return super.catch(exception, host);
  }
}
