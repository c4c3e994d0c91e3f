import type { ReadinessChecks } from '@forgeone/bus';
import { ForgeOneError, type ReportName, type ReportRange, type TestRunListReply } from '@forgeone/contracts';
import { createPublicKey } from 'node:crypto';
import {
  auditCheckpoint,
  auditConsistencyProof,
  auditInclusionProof,
  auditLog,
  getPlugin,
  listPlugins,
  listTestRuns,
  pluginHistory,
  readReport,
  type AuditCheckpoint,
  type AuditEntry,
  type AuditLogQuery,
  type ReportResult,
} from '@forgeone/persistence';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { API, AuditEntryReply, PluginDetailReply, PluginListReply, RouteReply } from '@forgeone/http-contract';

// Reads the projections the audit-projector maintains and shapes rows as the HTTP API v1 answers them.
// Every read is of one tenant: the tenant of the authorised caller, never one the request names.
@Injectable()
export class ProjectionsReader {
  constructor(private readonly ds: DataSource) {}

  async listPlugins(tenant: string, environment?: string): Promise<PluginListReply> {
    const items = await read(() => listPlugins(this.ds, { tenant, ...(environment !== undefined ? { environment } : {}) }));
    return {
      plugins: items.map((p) => ({ name: p.name, latestVersion: p.latestVersion, versions: p.versionsCount, installations: p.installations.map(installationReply) })),
    };
  }

  async getPlugin(tenant: string, name: string): Promise<Omit<PluginDetailReply, 'storage'>> {
    const plugin = await read(() => getPlugin(this.ds, { tenant, name }));
    if (!plugin) throw new ForgeOneError('QUERY.NOT_FOUND', `plugin ${name} is not published; check the name with GET /v1/plugins`, { name });
    return {
      name: plugin.name,
      latestVersion: plugin.latestVersion,
      versions: plugin.versions.map((v) => ({
        version: v.version,
        digest: v.digest,
        sizeBytes: v.sizeBytes,
        publisher: v.publisher,
        publishedAt: v.publishedAt,
        signature: v.signatureEnvelopeDigest === null || v.signedAt === null ? null : { envelopeDigest: v.signatureEnvelopeDigest, signedAt: v.signedAt },
        privateEgress: [...v.privateEgress],
        manifest: v.manifest as unknown as Record<string, unknown>,
      })),
      installations: plugin.installations.map(installationReply),
    };
  }

  async history(tenant: string, name: string): Promise<AuditEntryReply[]> {
    return (await read(() => pluginHistory(this.ds, { tenant, name }))).map(auditEntryReply);
  }

  report(tenant: string, name: ReportName, range: ReportRange): Promise<ReportResult> {
    return read(() => readReport(this.ds, name, tenant, range));
  }

  async auditLog(tenant: string, query: Omit<AuditLogQuery, 'tenant'>): Promise<AuditEntryReply[]> {
    return (await read(() => auditLog(this.ds, { ...query, tenant }))).map(auditEntryReply);
  }

  // The transparency log's checkpoints and key are the whole log's, the same for every tenant; proofs
  // reveal only hashes of other tenants' rows, and a row is proven only to its own tenant.
  async auditCheckpoint(size?: number): Promise<RouteReply<typeof API.auditCheckpoint>> {
    const found = await read(() => auditCheckpoint(this.ds.manager, size));
    if (!found) throw noCheckpoint(size);
    return checkpointReply(found);
  }

  async auditInclusionProof(tenant: string, sequence: number, size?: number): Promise<RouteReply<typeof API.auditInclusionProof>> {
    const proof = await read(() => auditInclusionProof(this.ds, { tenant, sequence, ...(size !== undefined ? { treeSize: size } : {}) }));
    return { ...proof, path: [...proof.path], checkpoint: checkpointReply(proof.checkpoint) };
  }

  async auditConsistencyProof(from: number, to?: number): Promise<RouteReply<typeof API.auditConsistencyProof>> {
    const proof = await read(() => auditConsistencyProof(this.ds, { from, ...(to !== undefined ? { to } : {}) }));
    return { from: checkpointReply(proof.from), to: checkpointReply(proof.to), proof: [...proof.proof] };
  }

  async auditKey(): Promise<RouteReply<typeof API.auditKey>> {
    const latest = await read(() => auditCheckpoint(this.ds.manager));
    if (!latest) throw noCheckpoint();
    const key = createPublicKey({ key: Buffer.from(latest.publicKey, 'base64'), format: 'der', type: 'spki' });
    return { publicKeyPem: key.export({ type: 'spki', format: 'pem' }) as string, keyId: latest.keyId, origin: latest.origin };
  }

  /** A plugin's recorded test runs in the tenant, newest first (none is an empty list, not an error). */
  async testRuns(tenant: string, name: string, environment?: string): Promise<TestRunListReply> {
    const rows = await read(() => listTestRuns(this.ds, { tenant, name, ...(environment !== undefined ? { environment } : {}) }));
    return {
      runs: rows.map((r) => ({
        runId: r.run_id,
        name: r.plugin,
        version: r.version,
        digest: r.digest,
        environment: r.environment,
        trigger: r.trigger,
        runner: r.runner,
        actor: r.actor,
        startedAt: r.started_at,
        completedAt: r.completed_at,
        passed: r.passed,
        vectors: r.vectors,
        totals: r.totals,
        comparedWith: r.compared_with,
        limitFactor: r.limit_factor,
        regressions: r.regressions,
        flagged: r.flagged,
        sequence: r.sequence,
      })),
    };
  }
}

function noCheckpoint(size?: number): ForgeOneError {
  return new ForgeOneError(
    'QUERY.NOT_FOUND',
    size === undefined ? 'the audit log has no signed checkpoint yet: the audit-projector signs one after its first events' : `there is no signed checkpoint of tree size ${size}`,
    size === undefined ? {} : { treeSize: size },
  );
}

function checkpointReply(c: AuditCheckpoint) {
  return { origin: c.origin, treeSize: c.treeSize, rootHash: c.rootHash, keyId: c.keyId, note: c.note, signedAt: c.signedAt, sequence: c.sequence };
}

function installationReply(i: { environment: string; version: string; digest: string; status: 'installed' | 'removed'; updatedAt: string }) {
  return { environment: i.environment, version: i.version, digest: i.digest, status: i.status, updatedAt: i.updatedAt };
}

function auditEntryReply(e: AuditEntry): AuditEntryReply {
  return {
    sequence: e.sequence,
    eventId: e.eventId,
    type: e.type,
    subject: e.subject,
    actor: e.actor,
    tenant: e.tenant,
    occurredAt: e.occurredAt,
    recordedAt: e.recordedAt,
    data: e.data,
    hash: e.hash,
    prevHash: e.prevHash,
    traceparent: e.traceparent,
    forged: e.forged,
  };
}

const NOT_READY = 'projections are not ready yet: the audit-projector creates them when it starts; try again in a moment';

async function read<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (error) {
    throw projectionError(error);
  }
}

// Maps a database failure the caller can do nothing about but wait to SERVICE.UNAVAILABLE; anything else stays as it is.
export function projectionError(error: unknown): unknown {
  if (error instanceof ForgeOneError) return error;
  const code = postgresCode(error);
  // 42P01: undefined table — the projector has not run its migrations on this database yet.
  if (code === '42P01') return new ForgeOneError('SERVICE.UNAVAILABLE', NOT_READY);
  if (isUnreachable(code, error)) {
    return new ForgeOneError('SERVICE.UNAVAILABLE', 'the projections database is not reachable; check that Postgres is running and DATABASE_URL points at it, then retry');
  }
  return error;
}

function postgresCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { driverError, code } = error as { driverError?: { code?: unknown }; code?: unknown };
  if (typeof driverError?.code === 'string') return driverError.code;
  return typeof code === 'string' ? code : undefined;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', '57P01', '57P02', '57P03', '53300']);

function isUnreachable(code: string | undefined, error: unknown): boolean {
  if (code && (UNREACHABLE.has(code) || code.startsWith('08'))) return true;
  return error instanceof Error && /Connection terminated|timeout exceeded when trying to connect/i.test(error.message);
}

// Readiness of the gateway's own dependency: the projections database, with its tables.
// Bounded in time: a hanging pool must not hang the probe.
export async function projectionsReadiness(ds: DataSource, timeoutMs = 1_500): Promise<ReadinessChecks> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the projections database did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const rows: Array<{ ready: boolean }> = await Promise.race([ds.query(`SELECT to_regclass('projection_checkpoint') IS NOT NULL AS ready`), timeout]);
    return { database: rows[0]?.ready ? { ok: true } : { ok: false, detail: NOT_READY } };
  } catch (error) {
    const mapped = projectionError(error);
    return { database: { ok: false, detail: mapped instanceof ForgeOneError ? mapped.message : `cannot query the projections database: ${(error as Error).message}` } };
  } finally {
    clearTimeout(timer);
  }
}
