// Routes of SIEM sinks: their status, and a tenant's own sinks.
import { AddSiemSinkRequestSchema, SiemSinkChangeReplySchema, SiemSinkListReplySchema, SiemSinkNameSchema, SiemSinkTestReplySchema } from '@forgeone/contracts';
import { z } from 'zod';
import { defineRoute } from './route.js';

/** One SIEM sink as `siem status` shows it (the siem-forwarder's `status` reply). */
const SiemSinkStatusSchema = z.object({
  sink: z.string(),
  kind: z.enum(['syslog', 'hec']),
  tenant: z.string().nullable(),
  lastDeliveredSequence: z.number().int().nonnegative(),
  lastDeliveredAt: z.string().nullable(),
  lagEvents: z.number().int().nonnegative(),
  lagSeconds: z.number().nonnegative(),
  lastError: z.string().nullable(),
  lastErrorAt: z.string().nullable(),
});
const SiemStatusReplySchema = z.object({ sinks: z.array(SiemSinkStatusSchema) });
const SiemSinkPath = z.object({ name: SiemSinkNameSchema.describe('the sink name in your tenant') });

/** Delivery status of SIEM sinks, and adding, listing, removing and testing them. */
export const SIEM_ROUTES = {
  siemStatus: defineRoute({
    method: 'get',
    path: '/v1/siem/status',
    operationId: 'siemStatus',
    summary: "Each SIEM sink's last delivered sequence, lag in events and seconds, and last error; the platform tenant sees every sink, another tenant its own (needs read-audit)",
    tag: 'audit',
    what: 'the SIEM status request',
    success: { status: 200, description: 'the status of each sink', component: 'SiemStatus', schema: SiemStatusReplySchema },
    access: { decidedBy: 'siem-forwarder', action: 'read-audit', command: 'siemStatus' },
  }),
  addSiemSink: defineRoute({
    method: 'post',
    path: '/v1/siem/sinks',
    operationId: 'addSiemSink',
    summary:
      "Add a SIEM sink of your tenant: syslog (tcp:// or tls:// with the CA's PEM) or HEC (https with token and CA); it receives only your tenant's events from now on. Loopback, private, link-local and metadata addresses are refused unless the platform opened them; the token is stored sealed and never shown (needs configure-siem)",
    tag: 'audit',
    what: 'the SIEM sink',
    body: { component: 'AddSiemSinkRequest', schema: AddSiemSinkRequestSchema },
    success: { status: 201, description: 'added', component: 'SiemSinkChangeReply', schema: SiemSinkChangeReplySchema },
    access: { decidedBy: 'registry', action: 'configure-siem', command: 'addSiemSink' },
  }),
  listSiemSinks: defineRoute({
    method: 'get',
    path: '/v1/siem/sinks',
    operationId: 'listSiemSinks',
    summary: "Your tenant's SIEM sinks: kind, URL, filter, whether a token is set (never the token), who added each and when (needs read-audit)",
    tag: 'audit',
    what: 'the SIEM sink list request',
    success: { status: 200, description: "the tenant's sinks", component: 'SiemSinkList', schema: SiemSinkListReplySchema },
    access: { decidedBy: 'registry', action: 'read-audit', command: 'listSiemSinks' },
  }),
  removeSiemSink: defineRoute({
    method: 'delete',
    path: '/v1/siem/sinks/{name}',
    operationId: 'removeSiemSink',
    summary: 'Remove a SIEM sink of your tenant; delivery to it stops (needs configure-siem)',
    tag: 'audit',
    what: 'the SIEM sink removal',
    params: SiemSinkPath,
    success: { status: 200, description: 'removed', component: 'SiemSinkChangeReply', schema: SiemSinkChangeReplySchema },
    access: { decidedBy: 'registry', action: 'configure-siem', command: 'removeSiemSink' },
  }),
  testSiemSink: defineRoute({
    method: 'post',
    path: '/v1/siem/sinks/{name}/test',
    operationId: 'testSiemSink',
    summary: 'Send one test message through a SIEM sink of your tenant (its address judged again) and answer once it was delivered, or what went wrong (needs configure-siem)',
    tag: 'audit',
    what: 'the SIEM sink test request',
    params: SiemSinkPath,
    success: { status: 200, description: 'delivered', component: 'SiemSinkTestReply', schema: SiemSinkTestReplySchema },
    access: { decidedBy: 'siem-forwarder', action: 'configure-siem', command: 'testSiemSink' },
  }),
} as const;
