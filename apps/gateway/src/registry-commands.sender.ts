import { BUS_CONNECTION, BusClient } from '@forgeone/bus';
import { ENVIRONMENT_VERBS, ForgeOneError, REGISTRY_VERBS, REVIEW_VERBS, SIEM_SINK_VERBS, TEST_RUN_VERBS, WATCH_VERBS } from '@forgeone/contracts';
import type { NatsConnection } from '@nats-io/transport-node';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { GATEWAY_SETTINGS, type GatewaySettings } from './gateway.config.js';
import { waitForProjection } from './read-your-writes.js';
import { clientSourceHeaders } from './http/client-source.js';

type RegistryVerb = keyof typeof REGISTRY_VERBS;

// How long a test run may take end to end (the registry's own wait for its runner is 120 s).
const TEST_RUN_TIMEOUT_MS = 125_000;

// Room for the headers (credential, traceparent) next to the body in one NATS message.
const HEADER_ALLOWANCE_BYTES = 8 * 1024;

// Sends a validated command to the registry and answers once its event is in the projections
// (read-your-writes), or after the wait with `projected: false`.
@Injectable()
export class RegistryCommandSender {
  constructor(
    private readonly bus: BusClient,
    private readonly ds: DataSource,
    @Inject(BUS_CONNECTION) private readonly connection: NatsConnection,
    @Inject(GATEWAY_SETTINGS) private readonly settings: GatewaySettings,
  ) {}

  async send<T extends { sequence: number }>(verb: RegistryVerb, command: object, credential: string | undefined): Promise<T & { projected: boolean }> {
    this.assertFitsOneMessage(verb, command);
    const timeoutMs = verb === 'publish' ? this.settings.publishTimeoutMs : this.settings.commandTimeoutMs;
    const result = await this.bus.request<T>('registry', REGISTRY_VERBS[verb], command, { ...(credential ? { credential } : {}), timeoutMs, headers: clientSourceHeaders() });
    const projected = await waitForProjection(this.ds, result.sequence, {
      timeoutMs: this.settings.readYourWritesTimeoutMs,
      intervalMs: this.settings.readYourWritesIntervalMs,
    });
    return { ...result, projected };
  }

  // A dry run appends nothing, so there is no sequence for the projections to reach.
  async dryRun<T>(verb: RegistryVerb, command: object, credential: string | undefined): Promise<T> {
    this.assertFitsOneMessage(verb, command);
    return this.bus.request<T>('registry', REGISTRY_VERBS[verb], command, { ...(credential ? { credential } : {}), timeoutMs: this.settings.commandTimeoutMs, headers: clientSourceHeaders() });
  }

  /**
   * A test run: the registry asks a runner to run the vectors, then records the run, so the answer
   * waits for the calls (each bounded by its plugin's deadline) and then for the projection.
   */
  async test<T extends { sequence: number }>(command: object, credential: string | undefined): Promise<T & { projected: boolean }> {
    const timeoutMs = Math.max(this.settings.commandTimeoutMs, TEST_RUN_TIMEOUT_MS);
    const result = await this.bus.request<T>('registry', TEST_RUN_VERBS.testPlugin, command, { ...(credential ? { credential } : {}), timeoutMs, headers: clientSourceHeaders() });
    const projected = await waitForProjection(this.ds, result.sequence, {
      timeoutMs: this.settings.readYourWritesTimeoutMs,
      intervalMs: this.settings.readYourWritesIntervalMs,
    });
    return { ...result, projected };
  }

  /**
   * Environments, plugin configuration, the watcher's reports and reviews: read and decided by the registry from
   * the event stream (no projection holds them), so the answer is the registry's own and there is nothing to wait for.
   */
  ask<T>(
    verb:
      | (typeof ENVIRONMENT_VERBS)[keyof typeof ENVIRONMENT_VERBS]
      | (typeof WATCH_VERBS)[keyof typeof WATCH_VERBS]
      | (typeof REVIEW_VERBS)[keyof typeof REVIEW_VERBS]
      | (typeof SIEM_SINK_VERBS)[keyof typeof SIEM_SINK_VERBS],
    command: object,
    credential: string | undefined,
  ): Promise<T> {
    return this.bus.request<T>('registry', verb, command, { ...(credential ? { credential } : {}), timeoutMs: this.settings.commandTimeoutMs, headers: clientSourceHeaders() });
  }

  // NATS refuses a message above the server's max_payload; say so instead of failing with a transport error.
  private assertFitsOneMessage(verb: RegistryVerb, command: object): void {
    const maxPayload = this.connection.info?.max_payload;
    if (!maxPayload) return;
    const size = Buffer.byteLength(JSON.stringify(command));
    if (size + HEADER_ALLOWANCE_BYTES > maxPayload) {
      throw new ForgeOneError(
        'COMMAND.TOO_LARGE',
        `the ${verb} request is ${mib(size)} but the bus carries at most ${mib(maxPayload - HEADER_ALLOWANCE_BYTES)} per command (NATS max_payload ${mib(maxPayload)}); publish a smaller module or raise max_payload in the NATS server configuration`,
        { sizeBytes: size, maxBytes: maxPayload - HEADER_ALLOWANCE_BYTES },
      );
    }
  }
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
