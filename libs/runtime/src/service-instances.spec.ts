import { SERVICES } from '@forgeone/contracts';
import { describe, expect, it } from 'vitest';
import { instanceCounts, serviceInstances } from './service-instances.js';

describe('serviceInstances', () => {
  it('service instances - one runner: one process per service under its own name, no runner identity set', () => {
    const instances = serviceInstances(SERVICES, 1, 'host-a');
    expect(instances.map((i) => i.name)).toEqual([...SERVICES]);
    expect(instances.every((i) => i.name === i.service && Object.keys(i.env).length === 0)).toBe(true);
  });

  it('service instances - three runners: the extra ones come last, each slot with an identity of its own', () => {
    const instances = serviceInstances(SERVICES, 3, 'host-a');
    expect(instances.map((i) => i.name)).toEqual([...SERVICES, 'sandbox-runner-2', 'sandbox-runner-3']);
    const runners = instances.filter((i) => i.service === 'sandbox-runner');
    expect(runners.map((i) => i.env.FORGEONE_RUNNER_ID)).toEqual(['host-a', 'host-a-2', 'host-a-3']);
    expect(instances.filter((i) => i.service !== 'sandbox-runner').every((i) => Object.keys(i.env).length === 0)).toBe(true);
    expect(instanceCounts(instances)).toMatchObject({ 'sandbox-runner': 3, registry: 1 });
  });

  it('service instances - the same slot gets the same identity every time (its call-window numbering carries on)', () => {
    expect(serviceInstances(SERVICES, 2, 'host-a')).toEqual(serviceInstances(SERVICES, 2, 'host-a'));
  });

  it('service instances - a 64-character base keeps each slot distinct after the runner cuts it to 64', () => {
    const base = 'h'.repeat(64);
    const ids = serviceInstances(SERVICES, 12, base).filter((i) => i.service === 'sandbox-runner').map((i) => i.env.FORGEONE_RUNNER_ID!);
    expect(ids.every((id) => id.length <= 64)).toBe(true);
    expect(new Set(ids).size).toBe(12);
    expect(ids[11]).toMatch(/-12$/);
  });

  it('service instances - without the sandbox-runner among the services no runner is added', () => {
    expect(serviceInstances(['registry', 'policy'], 3, 'host-a').map((i) => i.name)).toEqual(['registry', 'policy']);
  });

  it('service instances - a runner count below 1 is refused', () => {
    expect(() => serviceInstances(SERVICES, 0, 'host-a')).toThrow('the number of sandbox-runners must be a whole number of at least 1, got 0');
  });
});
