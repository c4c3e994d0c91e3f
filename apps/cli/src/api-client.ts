import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { ForgeOneError, isErrorReply, type ErrorCode, type EvidenceExportLine, type ReportName } from '@forgeone/contracts';
import { API, fillPath, REPORT_ROUTES, type AnyRoute, type InstallationDryRunReply, type RouteBody, type RouteParams, type RouteQuery, type RouteReply } from '@forgeone/http-contract';

// Every request and reply type below is the HTTP contract's (libs/http-contract): the CLI codes against
// the same schemas the gateway validates with, so a change there fails to compile here.

export type PublishReply = RouteReply<typeof API.publishPluginVersion>;
/** Reply to install, upgrade, rollback and remove. For remove, `version` is the version that was removed. */
export type InstallationReply = RouteReply<typeof API.removePlugin>;
/** What every plugin command answers: the event it appended and whether reads show it yet. */
export type CommandReceipt = Pick<InstallationReply, 'eventId' | 'sequence' | 'projected'>;
/** Reply to install, upgrade and rollback with `dryRun`: what would happen, of which nothing was done. */
export type { InstallationDryRunReply } from '@forgeone/http-contract';

/** The installation change a dry run asks about; `reason` for rollback only. */
export interface InstallationDryRunRequest {
  readonly action: 'install' | 'upgrade' | 'rollback';
  readonly environment: string;
  readonly name: string;
  readonly version: string;
  readonly reason?: string;
}

export type PluginListReply = RouteReply<typeof API.listPlugins>;
export type PluginDetailReply = RouteReply<typeof API.showPlugin>;
export type Installation = PluginDetailReply['installations'][number];
export type PluginStorage = NonNullable<PluginDetailReply['storage']>;
export type HistoryReply = RouteReply<typeof API.pluginHistory>;
export type AuditLogReply = RouteReply<typeof API.auditLog>;
export type ReportReply = RouteReply<typeof API.reportPluginCalls>;
export type CallRecordingReply = RouteReply<typeof API.setCallRecording>;
export type AuditEntry = AuditLogReply['entries'][number];
export type AuditLogQuery = Omit<RouteQuery<typeof API.auditLog>, 'limit'> & { readonly limit?: number };
export type AuditCheckpointReply = RouteReply<typeof API.auditCheckpoint>;
export type AuditInclusionProofReply = RouteReply<typeof API.auditInclusionProof>;
export type AuditConsistencyProofReply = RouteReply<typeof API.auditConsistencyProof>;
export type AuditKeyReply = RouteReply<typeof API.auditKey>;
export type AuditVerifyReply = RouteReply<typeof API.auditVerify>;
export type PolicySetReply = RouteReply<typeof API.applyPolicies>;
export type SiemStatusReply = RouteReply<typeof API.siemStatus>;
export type SiemSinkRequest = RouteBody<typeof API.addSiemSink>;
export type SiemSinkReceipt = RouteReply<typeof API.addSiemSink>;
export type SiemSinkList = RouteReply<typeof API.listSiemSinks>;
export type SiemSinkTestReply = RouteReply<typeof API.testSiemSink>;
export type PolicyCheckQuestion = RouteBody<typeof API.checkPolicy>;
export type PolicyCheckReply = RouteReply<typeof API.checkPolicy>;
export type TokenRequest = RouteBody<typeof API.createToken>;
export type CreatedToken = RouteReply<typeof API.createToken>;
export type TokenListReply = RouteReply<typeof API.listTokens>;
export type TokenInfo = TokenListReply['tokens'][number];
export type RevokedToken = RouteReply<typeof API.revokeToken>;
export type TrustKeyRequest = RouteBody<typeof API.trustKey>;
export type KeyListReply = RouteReply<typeof API.listKeys>;
/** A key of the tenant's trust store. */
export type KeyInfo = KeyListReply['keys'][number];
export type KeyReceipt = RouteReply<typeof API.trustKey>;
export type EnvironmentListReply = RouteReply<typeof API.listEnvironments>;
export type EnvironmentInfo = RouteReply<typeof API.showEnvironment>;
export type EnvironmentChange = RouteBody<typeof API.setEnvironment>;
export type EnvironmentChangeReply = RouteReply<typeof API.setEnvironment>;
export type PluginConfigList = RouteReply<typeof API.listPluginConfig>;
export type PluginConfigReceipt = RouteReply<typeof API.setPluginConfig>;
export type DropRejection = RouteBody<typeof API.reportDropRejected>;
export type DropRejectedReceipt = RouteReply<typeof API.reportDropRejected>;
export type ReviewReceipt = RouteReply<typeof API.recordReview>;
export type ReviewStatusReply = RouteReply<typeof API.showReview>;
export type ReviewList = RouteReply<typeof API.listReviews>;
export type ReviewNoticeReceipt = RouteReply<typeof API.recordIncident>;
export type IncidentRequest = RouteBody<typeof API.recordIncident>;
export type RegulationRequest = RouteBody<typeof API.recordRegulation>;
/** The input of a plugin call: UTF-8 text, or bytes as base64. */
export type CallInput = RouteBody<typeof API.callPlugin>;
/** Reply of a plugin call; `output` when the plugin answered UTF-8 text, otherwise `outputBase64`. */
export type CallReply = RouteReply<typeof API.callPlugin>;
export type TestRunReply = RouteReply<typeof API.testPlugin>;
export type TestRunList = RouteReply<typeof API.listTestRuns>;
export type TestRunInfo = TestRunList['runs'][number];

export type ApproveBody = RouteBody<typeof API.approvePlugin>;
export type ApprovalReply = RouteReply<typeof API.approvePlugin>;
export type PromoteBody = RouteBody<typeof API.promotePlugin>;
export type PromotionReply = RouteReply<typeof API.promotePlugin>;

/** The gateway's HTTP API v1 as the CLI uses it. Every failure is a ForgeOneError. */
export interface ApiClient {
  readonly baseUrl: string;
  /** `signature` is plugin.sig.json as text, sent as is. */
  publishPlugin(manifest: unknown, wasm: Uint8Array, signature?: string): Promise<PublishReply>;
  /** `emergency`: into a gated environment without a promotion, for the reason given (needs emergency-change). */
  installPlugin(environment: string, name: string, version: string, emergency?: { reason: string }): Promise<InstallationReply>;
  upgradePlugin(environment: string, name: string, version: string, emergency?: { reason: string }): Promise<InstallationReply>;
  approvePlugin(environment: string, name: string, version: string, body: ApproveBody): Promise<ApprovalReply>;
  rejectPlugin(environment: string, name: string, version: string, notes: string): Promise<ApprovalReply>;
  /** Into `environment` from `from`; a refusal (PROMOTION.GATES_UNMET) lists every unmet gate in `details.gates`. */
  promotePlugin(environment: string, body: PromoteBody): Promise<PromotionReply>;
  rollbackPlugin(environment: string, name: string, version: string, reason: string): Promise<InstallationReply>;
  removePlugin(environment: string, name: string): Promise<InstallationReply>;
  /** The platform's dry run of install, upgrade or rollback: a refusal is the command's own error, with `details.dryRun`. */
  dryRunInstallation(request: InstallationDryRunRequest): Promise<InstallationDryRunReply>;
  callPlugin(environment: string, name: string, handler: string, input: CallInput): Promise<CallReply>;
  listPlugins(environment?: string): Promise<PluginListReply>;
  showPlugin(name: string): Promise<PluginDetailReply>;
  pluginHistory(name: string): Promise<HistoryReply>;
  auditLog(query: AuditLogQuery): Promise<AuditLogReply>;
  /** The latest signed checkpoint, or the one of tree size `size`. */
  auditCheckpoint(size?: number): Promise<AuditCheckpointReply>;
  /** The inclusion proof of the tenant's row at stream `sequence` in the latest checkpoint (or that of `size`). */
  auditInclusionProof(sequence: number, size?: number): Promise<AuditInclusionProofReply>;
  auditConsistencyProof(from: number, to?: number): Promise<AuditConsistencyProofReply>;
  auditKey(): Promise<AuditKeyReply>;
  /** The platform verifies its audit log with the key sent (and checkpoints kept elsewhere). */
  auditVerify(request: RouteBody<typeof API.auditVerify>): Promise<AuditVerifyReply>;
  report(name: ReportName, range: { readonly from?: string; readonly to?: string }): Promise<ReportReply>;
  setCallRecording(request: RouteBody<typeof API.setCallRecording>): Promise<CallRecordingReply>;
  applyPolicies(policies: string, expectedVersion?: number): Promise<PolicySetReply>;
  showPolicies(): Promise<PolicySetReply>;
  checkPolicy(question: PolicyCheckQuestion): Promise<PolicyCheckReply>;
  createToken(request: TokenRequest): Promise<CreatedToken>;
  listTokens(tenant?: string): Promise<TokenListReply>;
  revokeToken(tokenId: string, reason: string): Promise<RevokedToken>;
  trustKey(request: TrustKeyRequest): Promise<KeyReceipt>;
  listKeys(): Promise<KeyListReply>;
  revokeKey(keyId: string, reason: string, revokedAt?: string): Promise<KeyReceipt>;
  listEnvironments(): Promise<EnvironmentListReply>;
  showEnvironment(environment: string): Promise<EnvironmentInfo>;
  setEnvironment(environment: string, change: EnvironmentChange): Promise<EnvironmentChangeReply>;
  confirmEnvironment(environment: string): Promise<EnvironmentChangeReply>;
  listPluginConfig(environment: string, name: string): Promise<PluginConfigList>;
  setPluginConfig(environment: string, name: string, key: string, value: string, secret: boolean): Promise<PluginConfigReceipt>;
  unsetPluginConfig(environment: string, name: string, key: string): Promise<PluginConfigReceipt>;
  approvePluginConfig(environment: string, name: string, changeId: string, notes?: string): Promise<PluginConfigReceipt>;
  rejectPluginConfig(environment: string, name: string, changeId: string, notes: string): Promise<PluginConfigReceipt>;
  /** The plugins/ directory watcher's record of a drop it refused (the registry appends the event). */
  reportDropRejected(environment: string, rejection: DropRejection): Promise<DropRejectedReceipt>;
  /** Runs a version's test vectors on the digest installed in `environment` and records the run. */
  testPlugin(environment: string, name: string, version: string): Promise<TestRunReply>;
  /** A plugin's recorded test runs, newest first. */
  listTestRuns(name: string, environment?: string): Promise<TestRunList>;
  recordReview(name: string, outcome: 'approved' | 'changes-required', notes: string): Promise<ReviewReceipt>;
  showReview(name: string): Promise<ReviewStatusReply>;
  listReviews(overdue: boolean): Promise<ReviewList>;
  recordIncident(request: IncidentRequest): Promise<ReviewNoticeReceipt>;
  recordRegulation(request: RegulationRequest): Promise<ReviewNoticeReceipt>;
  /** An evidence export, line by line as the gateway streams it; `onLine` is awaited before the next line is read. */
  exportEvidence(request: RouteBody<typeof API.exportEvidence>, onLine: (line: EvidenceExportLine) => Promise<void>): Promise<void>;
  siemStatus(): Promise<SiemStatusReply>;
  addSiemSink(sink: SiemSinkRequest): Promise<SiemSinkReceipt>;
  listSiemSinks(): Promise<SiemSinkList>;
  removeSiemSink(name: string): Promise<SiemSinkReceipt>;
  testSiemSink(name: string): Promise<SiemSinkTestReply>;
}

export interface ApiClientOptions {
  /** Gateway base URL, e.g. http://127.0.0.1:8080. */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Commands wait up to 5 s for projections; the default leaves room for large uploads. */
  readonly timeoutMs?: number;
  /**
   * W3C `traceparent` every request continues (the CLI passes `TRACEPARENT` from its environment,
   * so a pipeline's trace reaches through it; default: this process's `TRACEPARENT`). Without a valid
   * one, the requests of one client share a new trace id, each with its own parent span id.
   */
  readonly traceparent?: string;
  /** The command's span: when given, each request carries its context and reports to it, and `traceparent` is not used. */
  readonly trace?: RequestTrace;
}

/** Where a command's requests are traced (the CLI's own span, when it exports one). */
export interface RequestTrace {
  /**
   * Called as a request is sent; `route` is the contract's path template, which holds no
   * parameter values. Answers the headers that carry the trace and a callback for the reply's status.
   */
  request(method: string, route: string): { readonly headers: Readonly<Record<string, string>>; answered(status: number): void };
}

const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The `traceparent` header of each request: the given one when it is valid W3C, else a sampled one of a trace of its own. */
export function traceparentSource(given: string | undefined): () => string {
  const trimmed = given?.trim().toLowerCase();
  if (trimmed !== undefined && TRACEPARENT.test(trimmed)) return () => trimmed;
  const traceId = randomBytes(16).toString('hex');
  return () => `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
}

// Plugin names are "<publisher>/<plugin>" and travel as two path segments.
function nameParams(name: string): { publisher: string; plugin: string } {
  const slash = name.indexOf('/');
  return slash < 0 ? { publisher: name, plugin: '' } : { publisher: name.slice(0, slash), plugin: name.slice(slash + 1) };
}

/** One request of a route: its path parameters, query string and body, each typed by the contract. */
interface RouteCall<R extends AnyRoute> {
  readonly params?: RouteParams<R>;
  readonly query?: { readonly [K in keyof RouteQuery<R>]?: string | undefined };
  readonly body?: RouteBody<R>;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 60_000;
  const traceparent = traceparentSource(options.traceparent ?? process.env.TRACEPARENT);

  // The trace headers of one request, and where its answer is reported.
  function traced(method: string, route: AnyRoute): { headers: Readonly<Record<string, string>>; answered(status: number): void } {
    if (options.trace) return options.trace.request(method, route.path);
    return { headers: { traceparent: traceparent() }, answered: () => undefined };
  }

  // Method and path come from the route; the reply is typed as the contract's success reply.
  function call<R extends AnyRoute, T = RouteReply<R>>(route: R, { params, query, body }: RouteCall<R> = {}): Promise<T> {
    return request<T>(route, fillPath(route, (params ?? {}) as Record<string, string>), body, query as Record<string, string | undefined> | undefined);
  }

  async function request<T>(route: AnyRoute, path: string, body?: unknown, query?: Record<string, string | undefined>): Promise<T> {
    const method = route.method.toUpperCase();
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) search.set(key, value);
    const url = `${baseUrl}${path}${search.size ? `?${search}` : ''}`;
    const trace = traced(method, route);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'forgeone-cli/0.1.0', ...trace.headers };
    if (options.token) headers['authorization'] = `Bearer ${options.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';

    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
      trace.answered(response.status);
      text = await response.text();
    } catch (error) {
      throw transportError(error, baseUrl, timeoutMs);
    }

    let reply: unknown;
    try {
      reply = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new ForgeOneError(
        'SERVICE.INTERNAL',
        `the ForgeOne API at ${baseUrl} answered ${method} ${path} with HTTP ${response.status} and a body that is not JSON; check that FORGEONE_API points at the ForgeOne gateway`,
        { status: response.status },
      );
    }
    if (isErrorReply(reply)) {
      // The most likely reason for a refused credential is that none was configured: say so first.
      const message =
        reply.error.code === 'AUTH.UNAUTHENTICATED' && !options.token ? `FORGEONE_TOKEN is not set, so no token was sent. ${reply.error.message}` : reply.error.message;
      // Codes come from the server, which may know codes this CLI version does not.
      throw new ForgeOneError(reply.error.code as ErrorCode, message, reply.error.details);
    }
    if (!response.ok) {
      throw new ForgeOneError(
        response.status === 404 ? 'COMMAND.UNKNOWN' : 'SERVICE.INTERNAL',
        `the ForgeOne API at ${baseUrl} answered ${method} ${path} with HTTP ${response.status} ${response.statusText} and no error description; check that FORGEONE_API points at the ForgeOne gateway and that it is up to date`,
        { status: response.status },
      );
    }
    if (typeof reply !== 'object' || reply === null) {
      throw new ForgeOneError('SERVICE.INTERNAL', `the ForgeOne API at ${baseUrl} answered ${method} ${path} with an empty or non-object body`, {
        status: response.status,
      });
    }
    return reply as T;
  }

  // A streamed reply (NDJSON): an error before the stream began is answered as JSON like any other.
  async function stream(route: AnyRoute, body: unknown, onLine: (line: EvidenceExportLine) => Promise<void>): Promise<void> {
    const method = route.method.toUpperCase();
    const trace = traced(method, route);
    const headers: Record<string, string> = {
      accept: 'application/x-ndjson, application/json',
      'content-type': 'application/json',
      'user-agent': 'forgeone-cli/0.1.0',
      ...trace.headers,
    };
    if (options.token) headers['authorization'] = `Bearer ${options.token}`;
    let response: Response;
    try {
      response = await fetch(`${baseUrl}${route.path}`, { method, headers, body: JSON.stringify(body) });
    } catch (error) {
      throw transportError(error, baseUrl, timeoutMs);
    }
    trace.answered(response.status);
    if (!response.ok || !(response.headers.get('content-type') ?? '').includes('ndjson') || !response.body) {
      const text = await response.text().catch(() => '');
      let reply: unknown;
      try {
        reply = JSON.parse(text);
      } catch {
        reply = undefined;
      }
      if (isErrorReply(reply)) {
        const message = reply.error.code === 'AUTH.UNAUTHENTICATED' && !options.token ? `FORGEONE_TOKEN is not set, so no token was sent. ${reply.error.message}` : reply.error.message;
        throw new ForgeOneError(reply.error.code as ErrorCode, message, reply.error.details);
      }
      throw new ForgeOneError('SERVICE.INTERNAL', `the ForgeOne API at ${baseUrl} answered ${route.path} with HTTP ${response.status} and no NDJSON stream`, { status: response.status });
    }
    const lines = createInterface({ input: Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.trim() === '') continue;
      let parsed: EvidenceExportLine;
      try {
        parsed = JSON.parse(line) as EvidenceExportLine;
      } catch {
        throw new ForgeOneError('SERVICE.INTERNAL', `the ForgeOne API at ${baseUrl} sent a line that is not JSON in the middle of ${route.path}`);
      }
      await onLine(parsed);
    }
  }

  return {
    baseUrl,
    exportEvidence: (request, onLine) => stream(API.exportEvidence, request, onLine),
    publishPlugin: (manifest, wasm, signature) =>
      call(API.publishPluginVersion, {
        body: {
          manifest: manifest as Record<string, unknown>,
          wasm: Buffer.from(wasm.buffer, wasm.byteOffset, wasm.byteLength).toString('base64'),
          ...(signature !== undefined ? { signature } : {}),
        },
      }),
    installPlugin: (environment, name, version, emergency) =>
      call(API.installPlugin, { params: { environment }, body: { name, version, ...(emergency ? { emergency } : {}) } }),
    upgradePlugin: (environment, name, version, emergency) =>
      call(API.upgradePlugin, { params: { environment, ...nameParams(name) }, body: { version, ...(emergency ? { emergency } : {}) } }),
    approvePlugin: (environment, name, version, body) => call(API.approvePlugin, { params: { environment, ...nameParams(name), version }, body }),
    rejectPlugin: (environment, name, version, notes) => call(API.rejectPlugin, { params: { environment, ...nameParams(name), version }, body: { notes } }),
    promotePlugin: (environment, body) => call(API.promotePlugin, { params: { environment }, body }),
    rollbackPlugin: (environment, name, version, reason) => call(API.rollbackPlugin, { params: { environment, ...nameParams(name) }, body: { version, reason } }),
    removePlugin: (environment, name) => call(API.removePlugin, { params: { environment, ...nameParams(name) } }),
    dryRunInstallation: ({ action, environment, name, version, reason }) => {
      const params = { environment, ...nameParams(name) };
      if (action === 'install') return call<typeof API.installPlugin, InstallationDryRunReply>(API.installPlugin, { params, body: { name, version, dryRun: true } });
      if (action === 'upgrade') return call<typeof API.upgradePlugin, InstallationDryRunReply>(API.upgradePlugin, { params, body: { version, dryRun: true } });
      return call<typeof API.rollbackPlugin, InstallationDryRunReply>(API.rollbackPlugin, { params, body: { version, reason: reason ?? '', dryRun: true } });
    },
    callPlugin: (environment, name, handler, input) => call(API.callPlugin, { params: { environment, ...nameParams(name), handler }, body: input }),
    listPlugins: (environment) => call(API.listPlugins, { query: { environment } }),
    showPlugin: (name) => call(API.showPlugin, { params: nameParams(name) }),
    pluginHistory: (name) => call(API.pluginHistory, { params: nameParams(name) }),
    auditLog: ({ limit, ...query }) => call(API.auditLog, { query: { ...query, limit: limit === undefined ? undefined : String(limit) } }),
    auditCheckpoint: (size) => call(API.auditCheckpoint, { query: { size: size === undefined ? undefined : String(size) } }),
    auditInclusionProof: (sequence, size) => call(API.auditInclusionProof, { params: { sequence: String(sequence) }, query: { size: size === undefined ? undefined : String(size) } }),
    auditConsistencyProof: (from, to) => call(API.auditConsistencyProof, { query: { from: String(from), to: to === undefined ? undefined : String(to) } }),
    auditKey: () => call(API.auditKey),
    auditVerify: (request) => call(API.auditVerify, { body: request }),
    report: (name, range) => call(REPORT_ROUTES[name], { query: range }),
    setCallRecording: (request) => call(API.setCallRecording, { body: request }),
    applyPolicies: (policies, expectedVersion) => call(API.applyPolicies, { body: { policies, ...(expectedVersion !== undefined ? { expectedVersion } : {}) } }),
    showPolicies: () => call(API.showPolicies),
    checkPolicy: (question) => call(API.checkPolicy, { body: question }),
    createToken: (token) => call(API.createToken, { body: token }),
    listTokens: (tenant) => call(API.listTokens, { query: { tenant } }),
    revokeToken: (tokenId, reason) => call(API.revokeToken, { params: { tokenId }, body: { reason } }),
    trustKey: (key) => call(API.trustKey, { body: key }),
    listKeys: () => call(API.listKeys),
    revokeKey: (keyId, reason, revokedAt) => call(API.revokeKey, { params: { keyId }, body: { reason, ...(revokedAt ? { revokedAt } : {}) } }),
    listEnvironments: () => call(API.listEnvironments),
    showEnvironment: (environment) => call(API.showEnvironment, { params: { environment } }),
    setEnvironment: (environment, change) => call(API.setEnvironment, { params: { environment }, body: change }),
    confirmEnvironment: (environment) => call(API.confirmEnvironment, { params: { environment } }),
    listPluginConfig: (environment, name) => call(API.listPluginConfig, { params: { environment, ...nameParams(name) } }),
    setPluginConfig: (environment, name, key, value, secret) => call(API.setPluginConfig, { params: { environment, ...nameParams(name), key }, body: { value, secret } }),
    unsetPluginConfig: (environment, name, key) => call(API.unsetPluginConfig, { params: { environment, ...nameParams(name), key } }),
    approvePluginConfig: (environment, name, changeId, notes) =>
      call(API.approvePluginConfig, { params: { environment, ...nameParams(name), changeId }, body: notes !== undefined ? { notes } : {} }),
    rejectPluginConfig: (environment, name, changeId, notes) => call(API.rejectPluginConfig, { params: { environment, ...nameParams(name), changeId }, body: { notes } }),
    reportDropRejected: (environment, rejection) => call(API.reportDropRejected, { params: { environment }, body: rejection }),
    testPlugin: (environment, name, version) => call(API.testPlugin, { params: nameParams(name), body: { version, environment } }),
    listTestRuns: (name, environment) => call(API.listTestRuns, { params: nameParams(name), query: { environment } }),
    recordReview: (name, outcome, notes) => call(API.recordReview, { params: nameParams(name), body: { outcome, notes } }),
    showReview: (name) => call(API.showReview, { params: nameParams(name) }),
    listReviews: (overdue) => call(API.listReviews, { query: { overdue: overdue ? 'true' : undefined } }),
    recordIncident: (request) => call(API.recordIncident, { body: request }),
    recordRegulation: (request) => call(API.recordRegulation, { body: request }),
    siemStatus: () => call(API.siemStatus),
    addSiemSink: (sink) => call(API.addSiemSink, { body: sink }),
    listSiemSinks: () => call(API.listSiemSinks),
    removeSiemSink: (name) => call(API.removeSiemSink, { params: { name } }),
    testSiemSink: (name) => call(API.testSiemSink, { params: { name } }),
  };
}

// fetch rejects with TypeError('fetch failed') and puts the socket error in `cause`.
function transportError(error: unknown, baseUrl: string, timeoutMs: number): ForgeOneError {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new ForgeOneError(
      'SERVICE.TIMEOUT',
      `the ForgeOne API at ${baseUrl} did not answer within ${Math.round(timeoutMs / 1000)} s; check the platform's logs and retry`,
      { api: baseUrl },
    );
  }
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const reason = code ?? (typeof cause?.message === 'string' ? cause.message : error instanceof Error ? error.message : String(error));
  const hint =
    code === 'ENOTFOUND' || code === 'EAI_AGAIN'
      ? 'check the host name in FORGEONE_API'
      : 'is the platform running? start it with `npm start`';
  return new ForgeOneError(
    'SERVICE.UNAVAILABLE',
    code === 'ECONNREFUSED' ? `cannot reach the ForgeOne API at ${baseUrl}: ${hint}` : `cannot reach the ForgeOne API at ${baseUrl} (${reason}): ${hint}`,
    { api: baseUrl, cause: reason },
  );
}
