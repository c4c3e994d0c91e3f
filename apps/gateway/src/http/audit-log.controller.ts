import { HEADERS } from '@forgeone/contracts';
import { Controller, Get, Headers, Query } from '@nestjs/common';
import { ProjectionsReader } from '../projections.reader.js';
import { QueryAuthorizer } from '../query.authorizer.js';
import { requireCredential } from './bearer-credential.js';
import { AuditLogQuerySchema, DEFAULT_AUDIT_LOG_LIMIT } from './http-api.schemas.js';
import { parseQuery } from './request.parsers.js';

// /v1/audit-log: the caller's tenant's part of the tamper-evident log in stream order, paged by
// `after=<last sequence>`; needs `read-audit` on that Tenant.
@Controller('v1/audit-log')
export class AuditLogController {
  constructor(
    private readonly projections: ProjectionsReader,
    private readonly authorizer: QueryAuthorizer,
  ) {}

  @Get()
  async entries(@Query() query: unknown, @Headers('authorization') authorization?: string, @Headers(HEADERS.tenant.toLowerCase()) tenant?: string) {
    const credential = requireCredential(authorization);
    const q = parseQuery(AuditLogQuerySchema, query, 'the audit log query');
    const decision = await this.authorizer.authorize(credential, 'read-audit', tenant);
    const entries = await this.projections.auditLog(decision.principal.tenant, {
      limit: q.limit ?? DEFAULT_AUDIT_LOG_LIMIT,
      ...(q.plugin !== undefined ? { plugin: q.plugin } : {}),
      ...(q.since !== undefined ? { since: new Date(q.since) } : {}),
      ...(q.after !== undefined ? { afterSequence: q.after } : {}),
    });
    return { entries };
  }
}
