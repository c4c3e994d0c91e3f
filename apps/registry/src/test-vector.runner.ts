import type { BusClient } from '@forgeone/bus';
import { HEADERS, parseOrThrow, RunTestVectorsReplySchema, type Names, type RunTestVectorsReply, type RunTestVectorsRequest } from '@forgeone/contracts';
import type { CommandContext, TestVectorRunner } from '@forgeone/registry-domain';

// A run is a handful of calls, each bounded by its own deadline (limits.timeoutMs, at most the cap);
// this only bounds a runner that stopped answering.
const RUN_TIMEOUT_MS = 120_000;

/**
 * Asks a sandbox-runner to run an installed version's test vectors (`forgeone.sandbox.test-vectors`,
 * which only the registry may publish), with the caller's credential so hooks are judged for them.
 */
export class BusTestVectorRunner implements TestVectorRunner {
  constructor(
    private readonly bus: BusClient,
    private readonly names: Names,
  ) {}

  async run(request: RunTestVectorsRequest, context: CommandContext): Promise<RunTestVectorsReply> {
    const reply = await this.bus.requestSubject(this.names.testVectors, request, {
      label: 'sandbox.test-vectors',
      service: 'sandbox-runner',
      timeoutMs: RUN_TIMEOUT_MS,
      ...(context.credential ? { credential: context.credential } : {}),
      ...(context.source ? { headers: { [HEADERS.source]: context.source } } : {}),
    });
    return parseOrThrow(RunTestVectorsReplySchema, reply, 'SERVICE.INTERNAL', "the sandbox-runner's test vector results");
  }
}
