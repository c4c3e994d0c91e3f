// Calls that succeeded and failed per tenant, environment and plugin, since the runner started.

export interface InvocationCounters {
  ok: number;
  failed: number;
}

export class InvocationTally {
  private readonly counters = new Map<string, InvocationCounters>();

  count(tenant: string, environment: string, name: string, ok: boolean): void {
    const key = `${tenant}\u0000${environment}/${name}`;
    const c = this.counters.get(key) ?? { ok: 0, failed: 0 };
    if (ok) c.ok++;
    else c.failed++;
    this.counters.set(key, c);
  }

  /** Per plugin counters of one tenant, keyed `<environment>/<plugin>`. */
  stats(tenant: string): Record<string, InvocationCounters> {
    const out: Record<string, InvocationCounters> = {};
    for (const [key, value] of this.counters) {
      const [t, rest] = splitOnce(key);
      if (t === tenant) out[rest] = { ...value };
    }
    return out;
  }

  /** Totals over every tenant, for the health reply. */
  totals(): InvocationCounters {
    let ok = 0;
    let failed = 0;
    for (const c of this.counters.values()) {
      ok += c.ok;
      failed += c.failed;
    }
    return { ok, failed };
  }
}

function splitOnce(key: string): [string, string] {
  const i = key.indexOf('\u0000');
  return [key.slice(0, i), key.slice(i + 1)];
}
