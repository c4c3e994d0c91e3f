import type { DataSource } from 'typeorm';
import { pluginTestRunsProjection, type PluginTestRunRow } from '../projections/plugin-test-runs.projection.js';

/** A plugin's test runs in the tenant, newest first; with `environment`, only those run there. */
export async function listTestRuns(ds: DataSource, query: { tenant: string; name: string; environment?: string; limit?: number }): Promise<PluginTestRunRow[]> {
  const params: unknown[] = [query.tenant, query.name];
  let where = 'tenant = $1 AND plugin = $2';
  if (query.environment !== undefined) {
    params.push(query.environment);
    where += ` AND environment = $${params.length}`;
  }
  params.push(Math.min(Math.max(query.limit ?? 200, 1), 1000));
  const rows: Record<string, unknown>[] = await ds.query(`SELECT * FROM plugin_test_runs WHERE ${where} ORDER BY sequence DESC LIMIT $${params.length}`, params);
  return rows.map((raw) => pluginTestRunsProjection.fromDb(raw));
}
