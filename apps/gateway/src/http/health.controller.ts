import type { ServerResponse } from 'node:http';
import { BUS_CONNECTION, BusClient, type ReadinessChecks } from '@forgeone/bus';
import type { NatsConnection } from '@nats-io/transport-node';
import { API, type ReadyzReply, type ServiceReadiness } from '@forgeone/http-contract';
import { Controller, Inject, Res } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { GATEWAY_PLATFORM_CHECKS, GATEWAY_SETTINGS, READINESS_SERVICES, type GatewaySettings } from '../gateway.config.js';
import { projectionsReadiness } from '../projections.reader.js';
import { ContractRoute } from './contract-route.js';

// Liveness (the process answers) and readiness (every service of the platform answers ready).
@Controller()
export class HealthController {
  constructor(
    private readonly bus: BusClient,
    private readonly ds: DataSource,
    @Inject(BUS_CONNECTION) private readonly connection: NatsConnection,
    @Inject(GATEWAY_SETTINGS) private readonly settings: GatewaySettings,
    @Inject(GATEWAY_PLATFORM_CHECKS) private readonly platformChecks: () => ReadinessChecks,
  ) {}

  @ContractRoute(API.healthz)
  healthz() {
    return { status: 'ok' as const };
  }

  // 200 or 503 with the same body, so the status cannot be set through Nest's default reply.
  @ContractRoute(API.readyz)
  async readyz(@Res() res: ServerResponse): Promise<void> {
    const reply = await this.readiness();
    res.statusCode = reply.ready ? 200 : 503;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    res.end(JSON.stringify(reply));
  }

  private async readiness(): Promise<ReadyzReply> {
    const remote = READINESS_SERVICES.map(async (service): Promise<[string, ServiceReadiness]> => {
      try {
        const health = await this.bus.checkHealth(service, { timeoutMs: this.settings.healthTimeoutMs });
        return [service, { ready: health.ready, checks: health.checks }];
      } catch (error) {
        const { code, message } = error as { code?: unknown; message?: unknown };
        return [service, { ready: false, error: { code: typeof code === 'string' ? code : 'SERVICE.INTERNAL', message: String(message) } }];
      }
    });
    const own = (async (): Promise<[string, ServiceReadiness]> => {
      const checks = {
        nats: this.connection.isClosed() ? { ok: false, detail: 'connection closed' } : { ok: true },
        ...this.platformChecks(),
        ...(await projectionsReadiness(this.ds, this.settings.healthTimeoutMs)),
      };
      return ['gateway', { ready: Object.values(checks).every((c) => c.ok), checks }];
    })();
    const services = Object.fromEntries(await Promise.all([own, ...remote]));
    return { ready: Object.values(services).every((s) => s.ready), services };
  }
}
