import type { Command } from 'commander';
import type { TestRunInfo, TestRunReply } from '../api-client.js';
import type { CommandContext } from '../command.context.js';
import { cleanCell, formatBytes, formatTable, formatTime, shortDigest } from '../format/table.js';
import { parseEnvironment, parsePluginName, parsePluginRef } from '../plugin-ref.js';

type RecordedRun = Omit<TestRunReply, 'eventId' | 'sequence' | 'projected'> & { readonly actor?: string };

/** `plugin test <publisher>/<plugin>@<version> --env ENV`: the platform's run, recorded; exit code 1 when a vector failed. */
export async function runTestsOnPlatform(context: CommandContext, ref: string, env: string): Promise<void> {
  const { name, version } = parsePluginRef(ref);
  const environment = parseEnvironment(env);
  const progress = context.progress(`running the test vectors of ${name}@${version} in ${environment}`);
  let reply: TestRunReply;
  try {
    reply = await context.api().testPlugin(environment, name, version);
  } finally {
    progress.stop();
  }
  context.print(reply, () => renderTestRun(reply));
  if (!reply.passed) context.setExitCode(1);
}

/** Adds `plugin test-runs NAME [--env ENV]`. */
export function registerTestRunCommands(plugin: Command, context: CommandContext): void {
  plugin
    .command('test-runs')
    .description("list a plugin's recorded test runs, newest first: passed or failed, flagged regressions, who ran them")
    .argument('<name>', 'plugin name as <publisher>/<plugin>')
    .option('--env <env>', 'only runs in this environment')
    .action(async (text: string, options: { env?: string }) => {
      const name = parsePluginName(text, 'plugin test-runs');
      const environment = options.env === undefined ? undefined : parseEnvironment(options.env);
      const reply = await context.api().listTestRuns(name, environment);
      context.print(reply, () => (reply.runs.length ? renderRunTable(reply.runs) : `no test runs recorded for ${name}${environment ? ` in ${environment}` : ''}\n`));
    });
}

/** The newest run per environment, as `plugin show` lists them. */
export function latestRunPerEnvironment(runs: readonly TestRunInfo[]): TestRunInfo[] {
  const latest = new Map<string, TestRunInfo>();
  for (const run of runs) {
    const seen = latest.get(run.environment);
    if (seen === undefined || run.sequence > seen.sequence) latest.set(run.environment, run);
  }
  return [...latest.values()].sort((a, b) => a.environment.localeCompare(b.environment));
}

export function outcomeOf(run: Pick<RecordedRun, 'passed' | 'flagged'>): string {
  return `${run.passed ? 'passed' : 'FAILED'}${run.flagged ? ', FLAGGED' : ''}`;
}

export function renderRunTable(runs: readonly TestRunInfo[]): string {
  return formatTable(
    ['ENVIRONMENT', 'VERSION', 'RESULT', 'VECTORS', 'TRIGGER', 'ACTOR', 'COMPLETED', 'DIGEST'],
    runs.map((r) => [r.environment, r.version, outcomeOf(r), `${r.vectors.filter((v) => v.passed).length}/${r.vectors.length}`, r.trigger, r.actor, formatTime(r.completedAt), shortDigest(r.digest)]),
  );
}

/** One run: its vectors with their measures, what failed and why, and the comparison with the previous version. */
export function renderTestRun(run: RecordedRun): string {
  const header = `${cleanCell(run.name)}@${cleanCell(run.version)} in ${cleanCell(run.environment)} ${shortDigest(run.digest)}: ${outcomeOf(run)} (runner ${cleanCell(run.runner)})\n`;
  const table = run.vectors.length
    ? formatTable(
        ['#', 'HANDLER', 'RESULT', 'DURATION', 'FUEL', 'MEMORY', 'OUTPUT'],
        run.vectors.map((v) => [v.index + 1, v.handler, v.passed ? 'pass' : 'FAIL', `${v.durationMs.toFixed(2)} ms`, v.fuel, formatBytes(v.memoryPeakBytes), formatBytes(v.outputBytes)]),
      )
    : 'the manifest has no test vectors\n';
  const failures = run.vectors
    .filter((v) => !v.passed)
    .map((v) => `#${v.index + 1} ${cleanCell(v.handler)}: ${v.error ? `${cleanCell(v.error.message)} (${v.error.code})` : 'the output differs from the expected one'}\n`)
    .join('');
  const comparison = run.comparedWith
    ? `compared with ${cleanCell(run.comparedWith.version)} (run ${cleanCell(run.comparedWith.runId)}), regression factor ${run.limitFactor}: ${
        run.regressions.length ? `REGRESSIONS ${run.regressions.map((r) => `${r.metric} ${r.previous} → ${r.current} (×${r.factor || '∞'})`).join(', ')}` : 'no regression'
      }\n`
    : 'no earlier version was tested here: nothing to compare with\n';
  const summary = `totals: ${run.totals.durationMs.toFixed(2)} ms, fuel ${run.totals.fuel}, memory ${formatBytes(run.totals.memoryPeakBytes)}, output ${formatBytes(run.totals.outputBytes)}\n`;
  return `${header}${table}${failures ? `\n${failures}` : ''}${summary}${comparison}`;
}
