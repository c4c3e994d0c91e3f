import { API, DEFAULT_AUDIT_LOG_LIMIT, type RouteInput } from '@forgeone/http-contract';
import { Controller } from '@nestjs/common';
import { AuditVerifier } from '../audit.verifier.js';
import { ProjectionsReader } from '../projections.reader.js';
import { ContractRoute, RouteRequest } from './contract-route.js';

// /v1/audit-log: the caller's tenant's part of the tamper-evident log in stream order, paged by
// `after=<last sequence>`, and the log's signed checkpoints, proofs and key; each needs `read-audit`
// on the caller's Tenant (checked by the contract's interceptor).
@Controller()
export class AuditLogController {
  constructor(
    private readonly projections: ProjectionsReader,
    private readonly verifier: AuditVerifier,
  ) {}

  @ContractRoute(API.auditLog)
  async entries(@RouteRequest() { query: q, tenant }: RouteInput<typeof API.auditLog>) {
    const entries = await this.projections.auditLog(tenant, {
      limit: q.limit ?? DEFAULT_AUDIT_LOG_LIMIT,
      ...(q.plugin !== undefined ? { plugin: q.plugin } : {}),
      ...(q.since !== undefined ? { since: new Date(q.since) } : {}),
      ...(q.after !== undefined ? { afterSequence: q.after } : {}),
    });
    return { entries };
  }

  @ContractRoute(API.auditCheckpoint)
  checkpoint(@RouteRequest() { query }: RouteInput<typeof API.auditCheckpoint>) {
    return this.projections.auditCheckpoint(query.size);
  }

  @ContractRoute(API.auditInclusionProof)
  inclusionProof(@RouteRequest() { params, query, tenant }: RouteInput<typeof API.auditInclusionProof>) {
    return this.projections.auditInclusionProof(tenant, params.sequence, query.size);
  }

  @ContractRoute(API.auditConsistencyProof)
  consistencyProof(@RouteRequest() { query }: RouteInput<typeof API.auditConsistencyProof>) {
    return this.projections.auditConsistencyProof(query.from, query.to);
  }

  @ContractRoute(API.auditKey)
  key() {
    return this.projections.auditKey();
  }

  @ContractRoute(API.auditVerify)
  verify(@RouteRequest() { body }: RouteInput<typeof API.auditVerify>) {
    return this.verifier.verify(body);
  }
}
