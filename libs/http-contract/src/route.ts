import { COMMAND_ERRORS, QUERY_ERRORS, type CommandName, type ErrorCode, type QueryName } from '@forgeone/contracts';
import type { z } from 'zod';

export type HttpMethod = 'get' | 'post' | 'put' | 'delete';

/** The reads the gateway authorises itself: its tenant's read models, its tenant's audit log, or an evidence export of it. */
export type QueryAction = 'read' | 'read-audit' | 'export-evidence';

/**
 * Who decides a request. `gateway`: a query the gateway authorises (`action` on the caller's Tenant)
 * and answers from the projections. A service: a command sent on the bus with the caller's token,
 * which that service authorises and decides; the gateway asks policy nothing. `public`: no token.
 */
export type RouteAccess =
  | { readonly decidedBy: 'public' }
  | { readonly decidedBy: 'gateway'; readonly action: QueryAction; readonly query: QueryName }
  | { readonly decidedBy: 'registry' | 'signer' | 'policy' | 'sandbox-runner' | 'siem-forwarder'; readonly action: string; readonly command: CommandName };

export interface ReplyDoc<S extends z.ZodType = z.ZodType> {
  readonly status: number;
  readonly description: string;
  /** Name of the schema in the OpenAPI document's components. */
  readonly component: string;
  readonly schema: S;
}

export interface BodyDoc<S = z.ZodType> {
  readonly component: string;
  readonly schema: S;
  /** false: the body may be left out (DELETE routes that also take `?reason=`). */
  readonly required?: boolean;
}

export interface HeaderDoc {
  readonly name: string;
  readonly description: string;
}

/** One route of the HTTP API: everything the gateway, the OpenAPI document and the CLI derive from. */
export interface RouteDefinition<
  P extends z.ZodObject | undefined = z.ZodObject | undefined,
  Q extends z.ZodObject | undefined = z.ZodObject | undefined,
  B extends z.ZodType | undefined = z.ZodType | undefined,
  R extends z.ZodType = z.ZodType,
> {
  readonly method: HttpMethod;
  /** OpenAPI path template, e.g. `/v1/plugins/{publisher}/{plugin}`. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly tag: string;
  /** How validation errors name the request: "the install request has ...". */
  readonly what: string;
  /** Path parameters in path order, each with a description. */
  readonly params?: P;
  readonly query?: Q;
  readonly body?: BodyDoc<NonNullable<B>> & { readonly schema: B };
  readonly headers?: readonly HeaderDoc[];
  readonly success: ReplyDoc<R>;
  /** What a body with `"dryRun": true` that would succeed answers. */
  readonly dryRun?: ReplyDoc;
  /** A second status answered with the success body (readiness: 503 when a service is not ready). */
  readonly alsoAnswers?: { readonly status: number; readonly description: string };
  readonly access: RouteAccess;
  /** Refusals of the gateway particular to this route (besides credential, validation and availability). */
  readonly gatewayErrors?: readonly ErrorCode[];
}

export type AnyRoute = RouteDefinition<z.ZodObject | undefined, z.ZodObject | undefined, z.ZodType | undefined, z.ZodType>;

type Out<S> = S extends z.ZodType ? z.output<S> : Record<string, never>;
type In<S> = S extends z.ZodType ? z.input<S> : never;

/** What the gateway answers on success. */
export type RouteReply<R> = R extends RouteDefinition<infer _P, infer _Q, infer _B, infer S> ? z.output<S> : never;
/** The JSON body a client sends. */
export type RouteBody<R> = R extends RouteDefinition<infer _P, infer _Q, infer B, infer _S> ? In<B> : never;
/** The query string a client sends, before coercion. */
export type RouteQuery<R> = R extends RouteDefinition<infer _P, infer Q, infer _B, infer _S> ? Partial<Record<keyof In<Q>, string>> : never;
/** The path parameters a client fills in. */
export type RouteParams<R> = R extends RouteDefinition<infer P, infer _Q, infer _B, infer _S> ? { readonly [K in keyof In<P>]: string } : never;

/** A request as the gateway hands it to a handler: token checked, parameters and body parsed, queries authorised. */
export interface RouteInput<R> {
  /** The Authorization header as sent, for the service that decides a command. */
  readonly credential: string;
  readonly params: R extends RouteDefinition<infer P, infer _Q, infer _B, infer _S> ? Out<P> : never;
  readonly query: R extends RouteDefinition<infer _P, infer Q, infer _B, infer _S> ? Out<Q> : never;
  /** Undefined only for a route whose body is optional and was left out. */
  readonly body: R extends RouteDefinition<infer _P, infer _Q, infer B, infer _S> ? Out<B> : never;
  /** The tenant of the caller, for routes the gateway authorises itself. */
  readonly tenant: string;
}

/** Keeps the literal types of a route, so handlers and clients see its exact schemas. */
export function defineRoute<P extends z.ZodObject | undefined = undefined, Q extends z.ZodObject | undefined = undefined, B extends z.ZodType | undefined = undefined, R extends z.ZodType = z.ZodType>(
  route: RouteDefinition<P, Q, B, R>,
): RouteDefinition<P, Q, B, R> {
  return route;
}

// Every /v1 route: a request without a usable token, and a client refused for too many of them.
const CREDENTIAL_ERRORS = ['AUTH.UNAUTHENTICATED', 'AUTH.TOO_MANY_FAILURES'] as const;
// A bus request nobody answered, or answered too late.
const BUS_ERRORS = ['SERVICE.UNAVAILABLE', 'SERVICE.TIMEOUT'] as const;
// A body that is not JSON, nested too deep or larger than the body limit.
const BODY_ERRORS = ['COMMAND.INVALID', 'COMMAND.TOO_LARGE'] as const;

/**
 * Every code a route may answer besides SERVICE.INTERNAL: the gateway's own (credential,
 * validation, availability, those particular to the route) and the catalogue of the command or
 * query behind it.
 */
export function routeErrors(route: AnyRoute): ErrorCode[] {
  const { access } = route;
  if (access.decidedBy === 'public') return [...(route.gatewayErrors ?? [])];
  const own: ErrorCode[] = [...CREDENTIAL_ERRORS];
  if (route.body) own.push(...BODY_ERRORS);
  if (access.decidedBy === 'gateway') {
    // Reads validate their path and query as QUERY.INVALID; the projections may be unreachable.
    if (route.params || route.query) own.push('QUERY.INVALID');
    own.push('SERVICE.UNAVAILABLE', ...QUERY_ERRORS[access.query]);
  } else {
    if (route.params) own.push('COMMAND.INVALID');
    if (route.query) own.push('QUERY.INVALID');
    own.push(...BUS_ERRORS, ...COMMAND_ERRORS[access.command]);
  }
  return [...new Set([...own, ...(route.gatewayErrors ?? [])])];
}

/** The route's path as Express routes it: `/v1/plugins/{publisher}` → `v1/plugins/:publisher`. */
export function expressPath(route: Pick<AnyRoute, 'path'>): string {
  return route.path.replace(/^\//, '').replace(/\{([A-Za-z]+)\}/g, ':$1');
}

/** The route's path with its parameters filled in, each URL-encoded. */
export function fillPath(route: Pick<AnyRoute, 'path'>, params: Readonly<Record<string, string>>): string {
  return route.path.replace(/\{([A-Za-z]+)\}/g, (_match, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`${route.path} needs the path parameter ${name}`);
    return encodeURIComponent(value);
  });
}
