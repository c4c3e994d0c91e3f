import { ForgeOneError, isErrorReply, type ErrorCode, type InstallationDryRunResult } from '@forgeone/contracts';

// Sequences are Postgres bigints, which may arrive as strings.
export type Sequence = number | string;

export interface CommandReceipt {
  readonly eventId: string;
  readonly sequence: Sequence;
  /** false when the read models had not caught up within the gateway's wait. */
  readonly projected: boolean;
}

export interface PublishReply extends CommandReceipt {
  readonly name: string;
  readonly version: string;
  readonly digest: string;
  readonly sizeBytes: number;
  /** How the signature verified at publish (present when one was sent and the version was new). */
  readonly signature?: { readonly envelopeDigest: string; readonly verified: boolean; readonly reason: string | null; readonly message: string };
}

/** Reply to install, upgrade, rollback and remove. For remove, `version` is the version that was removed. */
export interface InstallationReply extends CommandReceipt {
  readonly name: string;
  readonly version: string;
  readonly environment: string;
  readonly digest: string;
}

/** Reply to install, upgrade and rollback with `dryRun`: what would happen, of which nothing was done. */
export type InstallationDryRunReply = InstallationDryRunResult;

/** The installation change a dry run asks about; `reason` for rollback only. */
export interface InstallationDryRunRequest {
  readonly action: 'install' | 'upgrade' | 'rollback';
  readonly environment: string;
  readonly name: string;
  readonly version: string;
  readonly reason?: string;
}

export interface Installation {
  readonly environment: string;
  readonly version: string;
  readonly digest: string;
  readonly status: string;
  readonly updatedAt: string;
}

export interface PluginSummary {
  readonly name: string;
  readonly latestVersion: string | null;
  readonly versions: readonly string[] | number;
  readonly installations: readonly Installation[];
}

export interface PluginListReply {
  readonly plugins: readonly PluginSummary[];
}

export interface PluginVersion {
  readonly version: string;
  readonly digest: string;
  readonly sizeBytes: number;
  readonly publisher: string;
  readonly publishedAt: string;
  /** Null (or absent, from an older gateway) when the version was published unsigned. */
  readonly signature?: { readonly envelopeDigest: string; readonly signedAt: string } | null;
  /** Allow-list entries naming loopback, private or link-local addresses that the publisher was allowed; absent from an older gateway. */
  readonly privateEgress?: readonly string[];
  readonly manifest: Record<string, unknown>;
}

export interface StorageUsage {
  readonly usedBytes: number;
  readonly usedKeys: number;
  readonly maxBytes: number;
  readonly maxKeys: number;
}

export interface PluginStorage {
  readonly tenant: StorageUsage;
  readonly environments: readonly (StorageUsage & { readonly environment: string; readonly version: string | null })[];
}

export interface PluginDetailReply {
  readonly name: string;
  readonly latestVersion: string | null;
  readonly versions: readonly PluginVersion[];
  readonly installations: readonly Installation[];
  /** Null when no sandbox-runner answered; absent from an older gateway. */
  readonly storage?: PluginStorage | null;
}

export interface AuditEntry {
  readonly sequence: Sequence;
  readonly eventId: string;
  readonly type: string;
  readonly subject: string;
  readonly actor: string;
  readonly tenant: string;
  readonly occurredAt: string;
  readonly recordedAt: string;
  readonly data: unknown;
  readonly hash: string;
  readonly prevHash: string | null;
  readonly traceparent?: string | null;
  /** Why the event was refused as not its owner's (it changed nothing); null or absent when genuine. */
  readonly forged?: string | null;
}

export interface HistoryReply {
  readonly events: readonly AuditEntry[];
}

export interface AuditLogReply {
  readonly entries: readonly AuditEntry[];
}

export interface AuditLogQuery {
  readonly plugin?: string;
  readonly since?: string;
  readonly limit?: number;
  readonly after?: string;
}

export interface PolicySetReply {
  readonly version: number;
  readonly sha256: string;
  /** Cedar text by policy id. */
  readonly policies: Readonly<Record<string, string>>;
  readonly appliedAt?: string;
  readonly appliedBy?: string;
  /** Apply only: the set was identical to the active one, so no new version was made. */
  readonly unchanged?: boolean;
  readonly warnings?: readonly string[];
}

export interface PolicyCheckQuestion {
  readonly principal: string;
  readonly role?: string;
  readonly tenant?: string;
  readonly action: string;
  /** Without `tenant`, the gateway uses the question's tenant, else the caller's own. */
  readonly resource: { readonly type: string; readonly id: string; readonly tenant?: string };
  readonly environment?: string;
}

export interface PolicyCheckReply {
  readonly decision: 'allow' | 'deny';
  readonly policyIds: readonly string[];
  readonly policyVersion: number;
  readonly errors: readonly string[];
}

export interface TokenRequest {
  readonly principal: string;
  readonly role: string;
  readonly principalType?: 'user' | 'service';
  readonly tenant?: string;
  readonly expiresAt?: string;
}

export interface CreatedToken {
  readonly tokenId: string;
  /** The token itself, shown in this reply only. */
  readonly token: string;
  readonly principal: string;
  readonly role: string;
  readonly tenant: string;
  readonly expiresAt?: string;
}

export interface TokenInfo {
  readonly tokenId: string;
  readonly principal: string;
  readonly principalType: string;
  readonly role: string;
  readonly tenant: string;
  readonly issuedAt: string;
  readonly expiresAt?: string;
  readonly revokedAt?: string;
  readonly revokedReason?: string;
}

export interface TokenListReply {
  readonly tokens: readonly TokenInfo[];
}

export interface RevokedToken extends TokenInfo {
  readonly alreadyRevoked: boolean;
}

export interface TrustKeyRequest {
  readonly publicKeyPem: string;
  readonly publisher: string;
  readonly scope?: string;
  readonly validFrom?: string;
  readonly validUntil?: string;
}

/** A key of the tenant's trust store. */
export interface KeyInfo {
  readonly keyId: string;
  readonly publicKeyPem: string;
  readonly publisher: string;
  readonly scope: string;
  readonly validFrom: string;
  readonly validUntil: string | null;
  readonly trustedBy: string;
  readonly trustedAt: string;
  readonly revokedAt: string | null;
  readonly revokedReason: string | null;
  readonly revokedBy: string | null;
}

export interface KeyReceipt extends KeyInfo {
  readonly eventId: string;
  readonly sequence: number;
}

export interface KeyListReply {
  readonly keys: readonly KeyInfo[];
}

/** The input of a plugin call: UTF-8 text, or bytes as base64. */
export type CallInput = { readonly input: string } | { readonly inputBase64: string };

/** Reply of a plugin call; `output` when the plugin answered UTF-8 text, otherwise `outputBase64`. */
export interface CallReply {
  readonly plugin: string;
  readonly handler: string;
  readonly environment: string;
  readonly version: string;
  readonly digest: string;
  readonly output?: string;
  readonly outputBase64?: string;
  readonly fuelUsed?: number;
  readonly durationMs: number;
}

/** The gateway's HTTP API v1 as the CLI uses it. Every failure is a ForgeOneError. */
export interface ApiClient {
  readonly baseUrl: string;
  /** `signature` is plugin.sig.json as text, sent as is. */
  publishPlugin(manifest: unknown, wasm: Uint8Array, signature?: string): Promise<PublishReply>;
  installPlugin(environment: string, name: string, version: string): Promise<InstallationReply>;
  upgradePlugin(environment: string, name: string, version: string): Promise<InstallationReply>;
  rollbackPlugin(environment: string, name: string, version: string, reason: string): Promise<InstallationReply>;
  removePlugin(environment: string, name: string): Promise<InstallationReply>;
  /** The platform's dry run of install, upgrade or rollback: a refusal is the command's own error, with `details.dryRun`. */
  dryRunInstallation(request: InstallationDryRunRequest): Promise<InstallationDryRunReply>;
  callPlugin(environment: string, name: string, handler: string, input: CallInput): Promise<CallReply>;
  listPlugins(environment?: string): Promise<PluginListReply>;
  showPlugin(name: string): Promise<PluginDetailReply>;
  pluginHistory(name: string): Promise<HistoryReply>;
  auditLog(query: AuditLogQuery): Promise<AuditLogReply>;
  applyPolicies(policies: string, expectedVersion?: number): Promise<PolicySetReply>;
  showPolicies(): Promise<PolicySetReply>;
  checkPolicy(question: PolicyCheckQuestion): Promise<PolicyCheckReply>;
  createToken(request: TokenRequest): Promise<CreatedToken>;
  listTokens(tenant?: string): Promise<TokenListReply>;
  revokeToken(tokenId: string, reason: string): Promise<RevokedToken>;
  trustKey(request: TrustKeyRequest): Promise<KeyReceipt>;
  listKeys(): Promise<KeyListReply>;
  revokeKey(keyId: string, reason: string, revokedAt?: string): Promise<KeyReceipt>;
}

export interface ApiClientOptions {
  /** Gateway base URL, e.g. http://127.0.0.1:8080. */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Commands wait up to 5 s for projections; the default leaves room for large uploads. */
  readonly timeoutMs?: number;
}

// Plugin names are "<publisher>/<plugin>" and travel as two path segments.
const namePath = (name: string) => name.split('/').map(encodeURIComponent).join('/');
const envPath = (environment: string) => encodeURIComponent(environment);

export function createApiClient(options: ApiClientOptions): ApiClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 60_000;

  async function request<T>(method: string, path: string, body?: unknown, query?: Record<string, string | undefined>): Promise<T> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) search.set(key, value);
    const url = `${baseUrl}${path}${search.size ? `?${search}` : ''}`;
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'forgeone-cli/0.1.0' };
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

  return {
    baseUrl,
    publishPlugin: (manifest, wasm, signature) =>
      request('POST', '/v1/plugins', {
        manifest,
        wasm: Buffer.from(wasm.buffer, wasm.byteOffset, wasm.byteLength).toString('base64'),
        ...(signature !== undefined ? { signature } : {}),
      }),
    installPlugin: (environment, name, version) =>
      request('POST', `/v1/environments/${envPath(environment)}/installations`, { name, version }),
    upgradePlugin: (environment, name, version) =>
      request('PUT', `/v1/environments/${envPath(environment)}/installations/${namePath(name)}`, { version }),
    rollbackPlugin: (environment, name, version, reason) =>
      request('POST', `/v1/environments/${envPath(environment)}/installations/${namePath(name)}/rollback`, { version, reason }),
    removePlugin: (environment, name) => request('DELETE', `/v1/environments/${envPath(environment)}/installations/${namePath(name)}`),
    dryRunInstallation: ({ action, environment, name, version, reason }) => {
      const installations = `/v1/environments/${envPath(environment)}/installations`;
      if (action === 'install') return request('POST', installations, { name, version, dryRun: true });
      if (action === 'upgrade') return request('PUT', `${installations}/${namePath(name)}`, { version, dryRun: true });
      return request('POST', `${installations}/${namePath(name)}/rollback`, { version, reason, dryRun: true });
    },
    callPlugin: (environment, name, handler, input) =>
      request('POST', `/v1/environments/${envPath(environment)}/plugins/${namePath(name)}/calls/${encodeURIComponent(handler)}`, input),
    listPlugins: (environment) => request('GET', '/v1/plugins', undefined, { environment }),
    showPlugin: (name) => request('GET', `/v1/plugins/${namePath(name)}`),
    pluginHistory: (name) => request('GET', `/v1/plugins/${namePath(name)}/history`),
    auditLog: (query) =>
      request('GET', '/v1/audit-log', undefined, {
        plugin: query.plugin,
        since: query.since,
        limit: query.limit === undefined ? undefined : String(query.limit),
        after: query.after,
      }),
    applyPolicies: (policies, expectedVersion) => request('POST', '/v1/policies', { policies, ...(expectedVersion !== undefined ? { expectedVersion } : {}) }),
    showPolicies: () => request('GET', '/v1/policies'),
    checkPolicy: (question) => request('POST', '/v1/policies/check', question),
    createToken: (token) => request('POST', '/v1/tokens', token),
    listTokens: (tenant) => request('GET', '/v1/tokens', undefined, { tenant }),
    revokeToken: (tokenId, reason) => request('DELETE', `/v1/tokens/${encodeURIComponent(tokenId)}`, { reason }),
    trustKey: (key) => request('POST', '/v1/keys', key),
    listKeys: () => request('GET', '/v1/keys'),
    revokeKey: (keyId, reason, revokedAt) => request('DELETE', `/v1/keys/${encodeURIComponent(keyId)}`, { reason, ...(revokedAt ? { revokedAt } : {}) }),
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
