import type { IncomingMessage } from 'node:http';
import { ForgeOneError, HEADERS, parseOrThrow } from '@forgeone/contracts';
import { expressPath, type AnyRoute, type RouteInput } from '@forgeone/http-contract';
import {
  applyDecorators,
  createParamDecorator,
  HttpCode,
  Injectable,
  RequestMapping,
  RequestMethod,
  SetMetadata,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { platformMetrics } from '@forgeone/telemetry';
import { from, switchMap, tap, type Observable } from 'rxjs';
import { QueryAuthorizer } from '../query.authorizer.js';
import { requireCredential } from './bearer-credential.js';
import { parseBody } from './request.parsers.js';

const ROUTE = Symbol('forgeone.route');
const INPUT = Symbol('forgeone.route-input');

type RoutedRequest = IncomingMessage & {
  params?: Record<string, string>;
  query?: unknown;
  body?: unknown;
  [INPUT]?: RouteInput<AnyRoute>;
};

const METHODS = { get: RequestMethod.GET, post: RequestMethod.POST, put: RequestMethod.PUT, delete: RequestMethod.DELETE } as const;

/**
 * Serves a handler at a route of the HTTP contract: method, path and success status come from the
 * contract, and {@link RouteContractInterceptor} checks the token, parses path, query and body with
 * the contract's schemas and authorises the gateway's own queries before the handler runs.
 */
export function ContractRoute(route: AnyRoute): MethodDecorator {
  return applyDecorators(RequestMapping({ path: expressPath(route), method: METHODS[route.method] }), HttpCode(route.success.status), SetMetadata(ROUTE, route));
}

/** The request as the contract checked it: `credential`, `params`, `query`, `body` and, for queries, `tenant`. */
export const RouteRequest = createParamDecorator((_data: unknown, execution: ExecutionContext) => execution.switchToHttp().getRequest<RoutedRequest>()[INPUT]);

// Express leaves `{}` as the body of a request that sent none.
function isEmptyBody(body: unknown): boolean {
  return body === undefined || body === null || (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0);
}

/**
 * The one place where a request is checked before its handler: the credential first (a request
 * without a token is refused before anything is parsed or asked), then path, query and body (reads
 * answer QUERY.INVALID, commands COMMAND.INVALID for their path), then, for the queries the
 * gateway answers itself, policy. Commands are authorised by the service that decides them, once.
 */
@Injectable()
export class RouteContractInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly authorizer: QueryAuthorizer,
  ) {}

  intercept(execution: ExecutionContext, next: CallHandler): Observable<unknown> {
    const route = execution.getType() === 'http' ? this.reflector.get<AnyRoute | undefined>(ROUTE, execution.getHandler()) : undefined;
    if (!route || route.access.decidedBy === 'public') return next.handle();
    const req = execution.switchToHttp().getRequest<RoutedRequest>();
    const answered = from(this.check(route, req)).pipe(switchMap(() => next.handle()));
    if (route.access.decidedBy !== 'gateway') return answered;
    // Queries the gateway answers itself are counted here; commands where they are decided (the bus responder).
    const started = performance.now();
    const done = (outcome: string) => platformMetrics().query(route.operationId, outcome, (performance.now() - started) / 1000);
    return answered.pipe(tap({ complete: () => done('ok'), error: (error: unknown) => done(error instanceof ForgeOneError ? error.code : 'SERVICE.INTERNAL') }));
  }

  private async check(route: AnyRoute, req: RoutedRequest): Promise<void> {
    const { access } = route;
    const credential = requireCredential(req.headers.authorization);
    const isQuery = access.decidedBy === 'gateway';
    const params = route.params ? parseOrThrow(route.params, req.params ?? {}, isQuery ? 'QUERY.INVALID' : 'COMMAND.INVALID', route.what) : {};
    const query = route.query ? parseOrThrow(route.query, req.query ?? {}, 'QUERY.INVALID', `${route.what.replace(/ (request|query)$/, '')} query`) : {};
    let body: unknown;
    if (route.body) {
      const optional = route.body.required === false && isEmptyBody(req.body);
      body = optional ? undefined : parseBody(route.body.schema, req.body, route.what);
    }
    let tenant = '';
    if (access.decidedBy === 'gateway') {
      const asked = req.headers[HEADERS.tenant.toLowerCase()];
      const decision = await this.authorizer.authorize(credential, access.action, Array.isArray(asked) ? asked[0] : asked);
      tenant = decision.principal.tenant;
    }
    req[INPUT] = { credential, params, query, body, tenant } as RouteInput<AnyRoute>;
  }
}
