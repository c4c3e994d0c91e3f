// Routes of the reports and of how a tenant's calls are recorded for them.
import { CallRecordingReplySchema, SetCallRecordingRequestSchema, type ReportName } from '@forgeone/contracts';
import { ReportQuerySchema, ReportReplySchema } from './http.schemas.js';
import { defineRoute } from './route.js';
import { TENANT_HEADER } from './route-parameters.js';

// Every report: the same range query and reply, read from one view of the reporting contract, needing read-audit.
function reportRoute<N extends ReportName>(name: N, operationId: string, summary: string) {
  return defineRoute({
    method: 'get',
    path: `/v1/reports/${name}`,
    operationId,
    summary: `${summary} (needs read-audit; \`?from=&to=\` days or ISO times)`,
    tag: 'reports',
    what: `the ${name} report query`,
    query: ReportQuerySchema,
    headers: [TENANT_HEADER],
    success: { status: 200, description: 'the report: its columns and rows', component: 'Report', schema: ReportReplySchema },
    access: { decidedBy: 'gateway', action: 'read-audit', query: 'report' },
  });
}

/** Every report, and the call recording setting they read from. */
export const REPORT_API_ROUTES = {
  reportPluginCalls: reportRoute('plugin-calls', 'reportPluginCalls', "Calls and failed calls per plugin, environment and day of the caller's tenant"),
  reportCallWindows: reportRoute('call-windows', 'reportCallWindows', "Call-window numbers each runner took but never recorded (gaps in the call accounting)"),
  reportPolicyDenials: reportRoute('policy-denials', 'reportPolicyDenials', "Policy denials in the caller's tenant"),
  reportSignatureResults: reportRoute('signature-results', 'reportSignatureResults', "Plugin signature verifications and rejections in the caller's tenant"),
  reportSandboxViolations: reportRoute('sandbox-violations', 'reportSandboxViolations', "Sandbox limit and hook violations of the caller's tenant's plugins"),
  reportKeyTrustChanges: reportRoute('key-trust-changes', 'reportKeyTrustChanges', "Keys trusted and revoked in the caller's tenant"),
  reportPolicySetVersions: reportRoute('policy-set-versions', 'reportPolicySetVersions', "Policy set versions applied in the caller's tenant (the platform's set: its administrators' tenant)"),
  reportTokenEvents: reportRoute('token-events', 'reportTokenEvents', "API tokens issued and revoked in the caller's tenant"),
  setCallRecording: defineRoute({
    method: 'put',
    path: '/v1/settings/call-recording',
    operationId: 'setCallRecording',
    summary: "How the caller's tenant's plugin calls are recorded: per-call events or window summaries, for the tenant or one environment (needs configure-recording)",
    tag: 'reports',
    what: 'the call recording request',
    body: { component: 'SetCallRecordingRequest', schema: SetCallRecordingRequestSchema },
    success: { status: 200, description: 'the setting before and after, and the tenant\'s settings now', component: 'CallRecordingReply', schema: CallRecordingReplySchema },
    access: { decidedBy: 'policy', action: 'configure-recording', command: 'setCallRecording' },
  }),
} as const;
