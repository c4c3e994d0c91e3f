import { reportRange, type ReportName } from '@forgeone/contracts';
import { API, type ReportReply, type RouteInput } from '@forgeone/http-contract';
import { Controller } from '@nestjs/common';
import { ProjectionsReader } from '../projections.reader.js';
import { ContractRoute, RouteRequest } from './contract-route.js';

type ReportInput = RouteInput<typeof API.reportPluginCalls>;

// /v1/reports/<name>: the compliance reports of the caller's tenant, each read from one view of the
// reporting contract; `read-audit` on that Tenant and the range were checked by the contract's interceptor.
@Controller()
export class ReportsController {
  constructor(private readonly projections: ProjectionsReader) {}

  @ContractRoute(API.reportPluginCalls)
  pluginCalls(@RouteRequest() input: ReportInput) {
    return this.answer('plugin-calls', input);
  }

  @ContractRoute(API.reportCallWindows)
  callWindows(@RouteRequest() input: ReportInput) {
    return this.answer('call-windows', input);
  }

  @ContractRoute(API.reportPolicyDenials)
  policyDenials(@RouteRequest() input: ReportInput) {
    return this.answer('policy-denials', input);
  }

  @ContractRoute(API.reportSignatureResults)
  signatureResults(@RouteRequest() input: ReportInput) {
    return this.answer('signature-results', input);
  }

  @ContractRoute(API.reportSandboxViolations)
  sandboxViolations(@RouteRequest() input: ReportInput) {
    return this.answer('sandbox-violations', input);
  }

  @ContractRoute(API.reportKeyTrustChanges)
  keyTrustChanges(@RouteRequest() input: ReportInput) {
    return this.answer('key-trust-changes', input);
  }

  @ContractRoute(API.reportPolicySetVersions)
  policySetVersions(@RouteRequest() input: ReportInput) {
    return this.answer('policy-set-versions', input);
  }

  @ContractRoute(API.reportTokenEvents)
  tokenEvents(@RouteRequest() input: ReportInput) {
    return this.answer('token-events', input);
  }

  private async answer(report: ReportName, { query, tenant }: ReportInput): Promise<ReportReply> {
    const result = await this.projections.report(tenant, report, reportRange(query.from, query.to));
    return { report, tenant, from: query.from ?? null, to: query.to ?? null, ...result, columns: [...result.columns], rows: [...result.rows] };
  }
}
