import { BUS_CONNECTION, BUS_NAMES } from '@forgeone/bus';
import { ForgeOneError, type Names } from '@forgeone/contracts';
import type { EventAuthorship } from '@forgeone/event-store';
import type { RouteReply, API } from '@forgeone/http-contract';
import { verifyTransparencyLog, type ExternalCheckpoint } from '@forgeone/persistence';
import { authorshipPins, eventStreamMessages } from '@forgeone/runtime';
import { parsePublicKey } from '@forgeone/signing';
import type { NatsConnection } from '@nats-io/transport-node';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { GATEWAY_EVENT_AUTHORSHIP } from './gateway.config.js';
import { projectionError } from './projections.reader.js';

// POST /v1/audit-log/verify: the platform checks its own audit log where it is stored, with the key the
// caller pinned, and every row against the event stream it reads with its own connection, each message's authorship
// checked with the writer keys the platform pins (their fingerprints are in the reply). The reply holds counts and the
// first fault (a sequence, a tree size, hashes); no row content.
@Injectable()
export class AuditVerifier {
  constructor(
    private readonly ds: DataSource,
    @Inject(BUS_CONNECTION) private readonly connection: NatsConnection,
    @Inject(BUS_NAMES) private readonly names: Names,
    @Inject(GATEWAY_EVENT_AUTHORSHIP) private readonly authorship: EventAuthorship | null,
  ) {}

  async verify(request: { publicKeyPem: string; from?: number; to?: number; checkpoints?: readonly ExternalCheckpoint[] }): Promise<RouteReply<typeof API.auditVerify>> {
    let publicKey;
    try {
      publicKey = parsePublicKey(request.publicKeyPem);
    } catch (error) {
      throw new ForgeOneError('AUDIT.KEY_INVALID', `publicKeyPem: ${(error as Error).message}; send the audit key you pinned (forgeone audit key --out public.pem)`);
    }
    const authorship = this.authorship;
    if (!authorship) throw new Error('the gateway was started without the pinned event-writer keys, so it cannot check who wrote the events; start it with FORGEONE_EVENT_WRITER_KEYS');
    const stream = await eventStreamMessages(this.connection, this.names, { authorship });
    let report;
    try {
      report = await verifyTransparencyLog(this.ds, {
        publicKey,
        stream: stream.message,
        authorship: true,
        ...(request.from !== undefined ? { from: request.from } : {}),
        ...(request.to !== undefined ? { to: request.to } : {}),
        ...(request.checkpoints ? { external: request.checkpoints } : {}),
      });
    } catch (error) {
      throw projectionError(error);
    } finally {
      await stream.close();
    }
    return { ...report, stream: 'compared', authorship: authorshipPins(authorship) };
  }
}
