// A plugin call's host calls: kv, http and auth answered by the host's hooks, each traced, a refusal mapped to its status.
import { ForgeOneError } from '@forgeone/contracts';
import { context as otelContext, SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import type { HostCallHandler } from './plugin-worker.pool.js';
import { sandboxTracer } from './sandbox.tracer.js';
import { HOST_STATUS, type HostCallContext, type HostHooks } from './sandbox.types.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** Answers a call's host calls (kv, http, auth) through `hooks`, each in a `plugin.hook` span under the call's. */
export function hostCallHandler(hooks: HostHooks, ctx: HostCallContext, traceContext: Context): HostCallHandler {
  const answer = answerHostCall(hooks, ctx);
  return (fn, args) => {
    const span = sandboxTracer().startSpan(`plugin.hook ${fn}`, { kind: SpanKind.INTERNAL, attributes: { 'forgeone.hook.function': fn } }, traceContext);
    return otelContext.with(trace.setSpan(traceContext, span), () => answer(fn, args)).then(
      (reply) => {
        span.setAttribute('forgeone.hook.status', reply.status);
        // Denied, failed, too large or over quota (negative statuses); 0/1 answers and "not found" (-1) are answers.
        if (reply.status < -1) span.setStatus({ code: SpanStatusCode.ERROR, message: `host status ${reply.status}` });
        span.end();
        return reply;
      },
      (error: unknown) => {
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
        throw error;
      },
    );
  };
}

function answerHostCall(hooks: HostHooks, ctx: HostCallContext): HostCallHandler {
  return async (fn, args) => {
    try {
      switch (fn) {
        case 'kv_get': {
          if (hooks.kvGet === undefined) return { status: HOST_STATUS.failed };
          const value = await hooks.kvGet(ctx, utf8.decode(args[0]));
          return value === undefined ? { status: HOST_STATUS.notFound } : { status: HOST_STATUS.ok, data: value };
        }
        case 'kv_set':
          if (hooks.kvSet === undefined) return { status: HOST_STATUS.failed };
          await hooks.kvSet(ctx, utf8.decode(args[0]), args[1]);
          return { status: HOST_STATUS.ok };
        case 'kv_delete':
          if (hooks.kvDelete === undefined) return { status: HOST_STATUS.failed };
          return { status: (await hooks.kvDelete(ctx, utf8.decode(args[0]))) ? HOST_STATUS.ok : HOST_STATUS.notFound };
        case 'http_request': {
          if (hooks.httpRequest === undefined) return { status: HOST_STATUS.failed };
          const response = await hooks.httpRequest(ctx, JSON.parse(utf8.decode(args[0])));
          return { status: HOST_STATUS.ok, data: encoder.encode(JSON.stringify(response)) };
        }
        case 'auth_check':
          if (hooks.authCheck === undefined) return { status: HOST_STATUS.failed };
          return { status: (await hooks.authCheck(ctx, JSON.parse(utf8.decode(args[0])))) ? 1 : 0 };
        default:
          return { status: HOST_STATUS.failed };
      }
    } catch (error) {
      return { status: hookErrorStatus(error) };
    }
  };
}

/** The status a hook's refusal answers the guest with; a throw without a known code is a failure. */
function hookErrorStatus(error: unknown): number {
  if (!(error instanceof ForgeOneError)) return HOST_STATUS.failed;
  switch (error.code) {
    case 'AUTHZ.DENIED':
    case 'SANDBOX.CAPABILITY_DENIED':
      return HOST_STATUS.denied;
    case 'SANDBOX.STORAGE_VALUE_TOO_LARGE':
      return HOST_STATUS.tooLarge;
    case 'SANDBOX.STORAGE_QUOTA_EXCEEDED':
      return HOST_STATUS.quotaExceeded;
    default:
      return HOST_STATUS.failed;
  }
}
