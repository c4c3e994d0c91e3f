import { Controller, Get, Query } from '@nestjs/common';
import { ProjectionsReader } from '../projections.reader.js';
import { AuditLogQuerySchema, DEFAULT_AUDIT_LOG_LIMIT } from './http-api.schemas.js';
import { parseQuery } from './request.parsers.js';

// /v1/audit-log: the tamper-evident log in stream order, paged by `after=<last sequence>`.
@Controller('v1/audit-log')
export class AuditLogController {
  constructor(private readonly projections: ProjectionsReader) {}

  @Get()
  async entries(@Query() query: unknown) {
    const q = parseQuery(AuditLogQuerySchema, query, 'the audit log query');
    const entries = await this.projections.auditLog({
      limit: q.limit ?? DEFAULT_AUDIT_LOG_LIMIT,
      ...(q.plugin !== undefined ? { plugin: q.plugin } : {}),
      ...(q.since !== undefined ? { since: new Date(q.since) } : {}),
      ...(q.after !== undefined ? { afterSequence: q.after } : {}),
    });
    return { entries };
  }
}
