import type { ReportName } from '@forgeone/contracts';
import { AUDIT_LOG_ROUTES, EVIDENCE_ROUTES } from './audit.routes.js';
import { ENVIRONMENT_ROUTES, ENVIRONMENT_WATCH_ROUTES } from './environment.routes.js';
import { OPERATIONS_ROUTES } from './operations.routes.js';
import { PLUGIN_CONFIG_ROUTES } from './plugin-config.routes.js';
import { PLUGIN_ROUTES } from './plugin.routes.js';
import { POLICY_TOKEN_KEY_ROUTES } from './policy-tokens-keys.routes.js';
import { PROMOTION_ROUTES } from './promotion.routes.js';
import { REPORT_API_ROUTES } from './report.routes.js';
import { REVIEW_ROUTES, TEST_RUN_ROUTES } from './review.routes.js';
import { routeErrors, type AnyRoute } from './route.js';
import { SIEM_ROUTES } from './siem.routes.js';

/**
 * Every route of the HTTP API v1, by operation id. The order is the one the OpenAPI document and
 * the error table of docs/http-api.md list routes in, so a new route goes at the end of its area.
 */
export const API = {
  ...PLUGIN_ROUTES,
  ...AUDIT_LOG_ROUTES,
  ...REPORT_API_ROUTES,
  ...POLICY_TOKEN_KEY_ROUTES,
  ...ENVIRONMENT_ROUTES,
  ...PLUGIN_CONFIG_ROUTES,
  ...ENVIRONMENT_WATCH_ROUTES,
  ...PROMOTION_ROUTES,
  ...TEST_RUN_ROUTES,
  ...REVIEW_ROUTES,
  ...OPERATIONS_ROUTES,
  ...EVIDENCE_ROUTES,
  ...SIEM_ROUTES,
} as const;

export type ApiRoutes = typeof API;
export type OperationId = keyof ApiRoutes;

/** Every route, in the order the document lists them. */
export const API_ROUTES: readonly AnyRoute[] = Object.values(API) as readonly AnyRoute[];

/** The codes each route documents, by operation id. */
export function documentedErrors(): Record<OperationId, string[]> {
  return Object.fromEntries(Object.entries(API).map(([id, route]) => [id, routeErrors(route as AnyRoute)])) as Record<OperationId, string[]>;
}

/** The route of each report, by its name (every name has one: the type says so). */
export const REPORT_ROUTES = {
  'plugin-calls': API.reportPluginCalls,
  'call-windows': API.reportCallWindows,
  'policy-denials': API.reportPolicyDenials,
  'signature-results': API.reportSignatureResults,
  'sandbox-violations': API.reportSandboxViolations,
  'key-trust-changes': API.reportKeyTrustChanges,
  'policy-set-versions': API.reportPolicySetVersions,
  'token-events': API.reportTokenEvents,
} as const satisfies Record<ReportName, AnyRoute>;
