import type { ServiceName } from '@forgeone/contracts';

// The length a sandbox-runner cuts FORGEONE_RUNNER_ID to.
const RUNNER_ID_MAX_LENGTH = 64;

/** One process `npm start` runs: a service, under the name the supervisor, `pids` and the metrics list know it by. */
export interface ServiceInstance {
  /** `sandbox-runner`, `sandbox-runner-2`, ...; the service name itself for every other service. */
  readonly name: string;
  readonly service: ServiceName;
  /** Variables of this process alone (a runner's FORGEONE_RUNNER_ID). */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * The processes to run: one per service, and `runners` sandbox-runners. With one runner nothing
 * changes from a single service. With several, runner `k` is named `sandbox-runner-k` (the first
 * keeps `sandbox-runner`) and gets the identity `<base>` (first) or `<base>-k`, where `<base>` is
 * FORGEONE_RUNNER_ID or else the host name: the same slot has the same identity after a restart,
 * so its call-window numbering and its durable consumer carry on, and no two slots share either.
 * The extra runners come last, so the metrics ports of the other services do not move.
 */
export function serviceInstances(services: readonly ServiceName[], runners: number, runnerIdBase: string): ServiceInstance[] {
  if (!Number.isInteger(runners) || runners < 1) throw new Error(`the number of sandbox-runners must be a whole number of at least 1, got ${runners}`);
  const several = runners > 1 && services.includes('sandbox-runner');
  const instances = services.map((service): ServiceInstance => ({
    name: service,
    service,
    env: several && service === 'sandbox-runner' ? { FORGEONE_RUNNER_ID: runnerIdBase } : {},
  }));
  if (several) {
    for (let slot = 2; slot <= runners; slot++) {
      // A runner keeps 64 characters of its identity: the suffix must survive that cut.
      const suffix = `-${slot}`;
      instances.push({ name: `sandbox-runner${suffix}`, service: 'sandbox-runner', env: { FORGEONE_RUNNER_ID: `${runnerIdBase.slice(0, RUNNER_ID_MAX_LENGTH - suffix.length)}${suffix}` } });
    }
  }
  return instances;
}

/** How many processes of each service answer its health subject. */
export function instanceCounts(instances: readonly ServiceInstance[]): Partial<Record<ServiceName, number>> {
  const counts: Partial<Record<ServiceName, number>> = {};
  for (const { service } of instances) counts[service] = (counts[service] ?? 0) + 1;
  return counts;
}
