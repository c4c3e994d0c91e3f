import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthenticationFailureSettings } from '@forgeone/authz';
import { ForgeOneError } from '@forgeone/contracts';
import ipaddr from 'ipaddr.js';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { clientAddressOf } from './client-source.js';

/** Nest token of the gateway's {@link AuthFailureLimiter}. */
export const AUTH_FAILURE_LIMITER = Symbol.for('forgeone.gateway.auth-failure-limiter');

/**
 * Counts failed authentications (401 answers) per client address and window and, past
 * FORGEONE_AUTH_FAILURE_LIMIT in one window, refuses that client's API requests with 429 until the
 * window ends, before their bodies are read or anything is asked. An IPv6 client is counted by its
 * /64, the block one customer line usually has. The counting is rate-limiter-flexible's fixed window.
 */
export class AuthFailureLimiter {
  private readonly limiter: RateLimiterMemory;

  constructor(private readonly settings: Pick<AuthenticationFailureSettings, 'limitPerSource' | 'windowMs'>) {
    this.limiter = new RateLimiterMemory({ points: settings.limitPerSource, duration: Math.ceil(settings.windowMs / 1000) });
  }

  /** Counts one failed authentication of the client that sent `req`. */
  async failed(req: IncomingMessage): Promise<void> {
    await this.limiter.penalty(limiterKey(clientAddressOf(req)));
  }

  /** How many ms the client that sent `req` stays refused, or 0 when it is not. */
  async refusedForMs(req: IncomingMessage): Promise<number> {
    const state = await this.limiter.get(limiterKey(clientAddressOf(req)));
    return state !== null && state.consumedPoints >= this.settings.limitPerSource ? Math.max(state.msBeforeNext, 1) : 0;
  }

  /** Express middleware for the API routes: 429 AUTH.TOO_MANY_FAILURES with Retry-After for a refused client. */
  middleware(): (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void {
    return (req, res, next) => {
      this.refusedForMs(req).then(
        (ms) => {
          if (ms === 0) return next();
          const seconds = Math.ceil(ms / 1000);
          res.setHeader('retry-after', String(seconds));
          next(
            new ForgeOneError(
              'AUTH.TOO_MANY_FAILURES',
              `too many failed authentications from ${clientAddressOf(req)} (${this.settings.limitPerSource} in ${this.settings.windowMs / 1000} s): try again in ${seconds} s with a valid API token`,
              { retryAfterSeconds: seconds },
            ),
          );
        },
        (error: unknown) => next(error),
      );
    };
  }
}

function limiterKey(address: string): string {
  if (!ipaddr.IPv6.isValid(address)) return address;
  const parts = ipaddr.IPv6.parse(address).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(':')}::/64`;
}
