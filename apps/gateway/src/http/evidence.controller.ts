import type { ServerResponse } from 'node:http';
import { BusClient } from '@forgeone/bus';
import { EVIDENCE_VERBS, reportRange, type EvidenceExportLine, type SignEvidenceReply } from '@forgeone/contracts';
import { API, type RouteInput } from '@forgeone/http-contract';
import { writeEvidenceExport } from '@forgeone/persistence';
import { Controller, Inject, Res } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { GATEWAY_LOGGER, GATEWAY_SETTINGS, type GatewaySettings } from '../gateway.config.js';
import type { Logger } from '@forgeone/telemetry';
import { QueryAuthorizer } from '../query.authorizer.js';
import { clientSourceHeaders } from './client-source.js';
import { mapError } from './error.filter.js';
import { ContractRoute, RouteRequest } from './contract-route.js';

/** The client went away: the export stops reading. */
class ClientGone extends Error {}

// POST /v1/audit-log/evidence: the caller's tenant's evidence for one framework and period, streamed
// as NDJSON while it is read from the projections (export-evidence on the Tenant was checked by the
// contract's interceptor); the audit-projector, which holds the audit key, signs the manifest and
// records the export. Nothing is buffered beyond one page of rows.
@Controller()
export class EvidenceController {
  constructor(
    private readonly ds: DataSource,
    private readonly authorizer: QueryAuthorizer,
    private readonly bus: BusClient,
    @Inject(GATEWAY_SETTINGS) private readonly settings: GatewaySettings,
    @Inject(GATEWAY_LOGGER) private readonly logger: Logger,
  ) {}

  @ContractRoute(API.exportEvidence)
  async export(@RouteRequest() { body, credential, tenant }: RouteInput<typeof API.exportEvidence>, @Res() res: ServerResponse): Promise<void> {
    // The interceptor authorised the request; the decision (cached) also names who asks.
    const { principal } = await this.authorizer.authorize(credential, 'export-evidence');
    const range = reportRange(body.from, body.to);
    let gone = false;
    res.once('close', () => (gone = !res.writableFinished));
    const sink = {
      write: async (line: EvidenceExportLine) => {
        if (gone) throw new ClientGone('the client closed the connection');
        if (!res.headersSent) {
          res.statusCode = 200;
          res.setHeader('content-type', 'application/x-ndjson; charset=utf-8');
          res.setHeader('cache-control', 'no-store');
        }
        if (!res.write(`${JSON.stringify(line)}\n`)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              res.off('drain', done);
              res.off('close', done);
              resolve();
            };
            res.on('drain', done);
            res.on('close', done);
          });
        }
      },
    };
    try {
      const { manifest } = await writeEvidenceExport(
        this.ds,
        { framework: body.framework, tenant, from: range.from!, before: range.before!, exportedBy: principal.id, now: new Date() },
        sink,
      );
      const signed = await this.bus.request<SignEvidenceReply>('audit-projector', EVIDENCE_VERBS.sign, { manifest }, { credential, timeoutMs: this.settings.commandTimeoutMs, headers: clientSourceHeaders() });
      await sink.write({ kind: 'done', manifest, envelope: signed.envelope, sequence: signed.sequence });
      res.end();
    } catch (error) {
      // Before the first line, the error filter answers with a status; after it, the stream ends with an error line.
      if (!res.headersSent) throw error;
      if (error instanceof ClientGone || gone) {
        this.logger.warn({ tenant, framework: body.framework }, 'evidence export abandoned: the client closed the connection');
        res.destroy();
        return;
      }
      const { reply, internal } = mapError(error, { method: 'POST', url: API.exportEvidence.path });
      if (internal) this.logger.error({ err: error, tenant, framework: body.framework }, 'evidence export failed');
      res.end(`${JSON.stringify({ kind: 'error', error: reply.error })}\n`);
    }
  }
}
