import { BUS_CONNECTION, BUS_NAMES } from '@forgeone/bus';
import { ForgeOneError, type Names } from '@forgeone/contracts';
import type { RouteReply, API } from '@forgeone/http-contract';
import { verifyTransparencyLog, type ExternalCheckpoint } from '@forgeone/persistence';
import { eventStreamMessages } from '@forgeone/runtime';
import { parsePublicKey } from '@forgeone/signing';
import type { NatsConnection } from '@nats-io/transport-node';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { projectionError } from './projections.reader.js';

// POST /v1/audit-log/verify: the platform checks its own audit log where it is stored, with the key the
// caller pinned, and every row against the event stream it reads with its own connection. The reply holds
// counts and the first fault (a sequence, a tree size, hashes); no row content.
@Injectable()
export class AuditVerifier {
  constructor(
    private readonly ds: DataSource,
    @Inject(BUS_CONNECTION) private readonly connection: NatsConnection,
    @Inject(BUS_NAMES) private readonly names: Names,
  ) {}

  async verify(request: { publicKeyPem: string; from?: number; to?: number; checkpoints?: readonly ExternalCheckpoint[] }): Promise<RouteReply<typeof API.auditVerify>> {
    let publicKey;
    try {
      publicKey = parsePublicKey(request.publicKeyPem);
    } catch (error) {
      throw new ForgeOneError('AUDIT.KEY_INVALID', `publicKeyPem: ${(error as Error).message}; send the audit key you pinned (forgeone audit key --out public.pem)`);
    }
    const stream = await eventStreamMessages(this.connection, this.names);
    let report;
    try {
      report = await verifyTransparencyLog(this.ds, {
        publicKey,
        stream: stream.read,
        ...(request.from !== undefined ? { from: request.from } : {}),
        ...(request.to !== undefined ? { to: request.to } : {}),
        ...(request.checkpoints ? { external: request.checkpoints } : {}),
      });
    } catch (error) {
      throw projectionError(error);
    } finally {
      await stream.close();
    }
    return { ...report, stream: 'compared' };
  }
}
