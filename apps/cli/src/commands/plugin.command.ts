import { resolve } from 'node:path';
import type { Command } from 'commander';
import { renderReviewStatus } from './review.command.js';
import { registerPluginConfigCommands } from './plugin-config.command.js';
import { registerPromotionCommands } from './promotion.command.js';
import type { CommandReceipt, Installation, PluginDetailReply, PluginListReply, PluginStorage, PublishReply, TestRunInfo } from '../api-client.js';
import type { CommandContext } from '../command.context.js';
import { formatAuditEntries } from '../format/audit-entries.format.js';
import { cleanCell, formatBytes, formatTable, formatTime, shortDigest } from '../format/table.js';
import { UsageError } from '../cli.errors.js';
import { readPluginFolder } from '../plugin-folder.reader.js';
import { parseEnvironment, parsePluginName, parsePluginRef } from '../plugin-ref.js';
import { readSignatureFile } from './sign.command.js';
import { dryRunInstallation, dryRunPublish } from './dry-run.js';
import { latestRunPerEnvironment, outcomeOf, registerTestRunCommands } from './plugin-test-runs.command.js';

interface EnvOption {
  readonly env: string;
}

interface DryRunOption {
  readonly dryRun?: boolean;
}

const REF = ['<ref>', 'plugin and version as <publisher>/<plugin>@<version>, e.g. acme/pii-redactor@1.4.2'] as const;
const NAME = ['<name>', 'plugin name as <publisher>/<plugin>'] as const;
const ENV = ['--env <env>', 'target environment, e.g. staging or production'] as const;
const DRY_RUN_HELP = "ask the platform to run every check (policy, rollback protection, the environment's signature policy) and change nothing; prints each check's verdict";

interface EmergencyOptions {
  readonly emergency?: boolean;
  readonly reason?: string;
}

const EMERGENCY = ['--emergency', 'into a gated environment without a promotion (needs emergency-change; signatures are still checked, and the plugin then needs a review)'] as const;
const EMERGENCY_REASON = ['--reason <text>', 'with --emergency: why it cannot wait for a promotion, for the audit log (at most 1000 characters)'] as const;

function parseEmergency(options: EmergencyOptions & DryRunOption): { reason: string } | undefined {
  if (options.emergency && options.dryRun) throw new UsageError('--dry-run does not take --emergency: leave out one of them');
  if (!options.emergency) {
    if (options.reason !== undefined) throw new UsageError('--reason goes with --emergency');
    return undefined;
  }
  const reason = options.reason?.trim() ?? '';
  if (!reason) throw new UsageError('--emergency needs --reason <text>: say why the change cannot wait for a promotion; it is kept in the audit log');
  if (reason.length > 1000) throw new UsageError(`--reason is ${reason.length} characters; say why in at most 1000`);
  return { reason };
}

function receipt(reply: CommandReceipt): string {
  const pending = reply.projected === false ? '; not yet visible in list and show, which are still catching up' : '';
  return `(seq ${cleanCell(reply.sequence)}${pending})`;
}

// A signature that does not verify yet is not refused at publish; say so, since strict environments will refuse it.
function signatureLine(reply: PublishReply): string {
  const { signature } = reply;
  if (!signature) return '';
  if (signature.verified) return `signature verified: ${cleanCell(signature.message)}\n`;
  return `signature does not verify yet (${cleanCell(signature.reason)}): ${cleanCell(signature.message)}; strict environments will refuse this version until it does\n`;
}

/** Adds the `plugin` verbs and returns the `plugin` command, so other verbs can join it. */
export function registerPluginCommands(program: Command, context: CommandContext): Command {
  const plugin = program.command('plugin').description('write, build and test plugins locally; publish, install, upgrade, roll back, remove and inspect them');

  plugin
    .command('publish')
    .description('publish a plugin version from a folder holding forgeone.plugin.json and plugin.wasm (and plugin.sig.json when signed)')
    .argument('<dir>', 'the plugin folder')
    .option('--dry-run', 'run the checks this machine can make and show what the platform would be asked; sends nothing')
    .action(async (dir: string, options: DryRunOption) => {
      const cwd = context.io.cwd ?? process.cwd();
      const folder = await readPluginFolder(dir, cwd);
      // The registry verifies the signature; sent as written, so its digest is the file's.
      const signature = await readSignatureFile(resolve(cwd, dir));
      if (options.dryRun) return dryRunPublish(context, folder, signature);
      const megabytes = (folder.wasm.length / (1024 * 1024)).toFixed(1);
      const progress = context.progress(`publishing ${String(folder.manifest['name'])}@${String(folder.manifest['version'])} (${megabytes} MiB)`);
      let reply: PublishReply;
      try {
        reply = await context.api().publishPlugin(folder.manifest, folder.wasm, signature);
      } finally {
        progress.stop();
      }
      context.print(reply, () => `published ${reply.name}@${reply.version} ${shortDigest(reply.digest)} ${receipt(reply)}\n${signatureLine(reply)}`);
    });

  registerPluginConfigCommands(plugin, context);
  registerPromotionCommands(plugin, context);
  registerTestRunCommands(plugin, context);

  // Install and upgrade take the same reference, options and dry run; only the call and the wording differ.
  for (const change of [
    { action: 'install', description: 'install a published version into an environment', verb: 'installed', to: '@' },
    { action: 'upgrade', description: 'move an installed plugin to a newer version', verb: 'upgraded', to: ' to ' },
  ] as const) {
    plugin
      .command(change.action)
      .description(change.description)
      .argument(...REF)
      .requiredOption(...ENV)
      .option('--dry-run', DRY_RUN_HELP)
      .option(...EMERGENCY)
      .option(...EMERGENCY_REASON)
      .action(async (ref: string, options: EnvOption & DryRunOption & EmergencyOptions) => {
        const { name, version } = parsePluginRef(ref);
        const environment = parseEnvironment(options.env);
        const emergency = parseEmergency(options);
        if (options.dryRun) return dryRunInstallation(context, { action: change.action, environment, name, version });
        const api = context.api();
        const reply = change.action === 'install' ? await api.installPlugin(environment, name, version, emergency) : await api.upgradePlugin(environment, name, version, emergency);
        context.print(reply, () => `${change.verb} ${reply.name}${change.to}${reply.version} in ${reply.environment} ${shortDigest(reply.digest)} ${emergency ? 'as an emergency change ' : ''}${receipt(reply)}\n`);
      });
  }

  plugin
    .command('rollback')
    .description('move an installed plugin back to a lower version; the reason is kept in the audit log')
    .argument(...REF)
    .requiredOption(...ENV)
    .requiredOption('--reason <text>', 'why the environment goes back, for the audit log (at most 500 characters)')
    .option('--dry-run', DRY_RUN_HELP)
    .action(async (ref: string, options: EnvOption & DryRunOption & { reason: string }) => {
      const { name, version } = parsePluginRef(ref);
      const environment = parseEnvironment(options.env);
      const reason = options.reason.trim();
      if (!reason) throw new UsageError('--reason must say why the plugin is rolled back; it is kept in the audit log');
      if (reason.length > 500) throw new UsageError(`--reason is ${reason.length} characters; say why in at most 500`);
      if (options.dryRun) return dryRunInstallation(context, { action: 'rollback', environment, name, version, reason });
      const reply = await context.api().rollbackPlugin(environment, name, version, reason);
      context.print(reply, () => `rolled back ${reply.name} to ${reply.version} in ${reply.environment} ${shortDigest(reply.digest)} ${receipt(reply)}
`);
    });

  plugin
    .command('remove')
    .description('remove a plugin from an environment')
    .argument(...NAME)
    .requiredOption(...ENV)
    .action(async (text: string, options: EnvOption) => {
      const name = parsePluginName(text, 'plugin remove');
      const environment = parseEnvironment(options.env);
      const reply = await context.api().removePlugin(environment, name);
      context.print(reply, () => `removed ${reply.name}@${reply.version} from ${reply.environment} ${receipt(reply)}\n`);
    });

  plugin
    .command('list')
    .description('list plugins and where they are installed')
    .option('--env <env>', 'only installations in this environment')
    .action(async (options: Partial<EnvOption>) => {
      const environment = options.env === undefined ? undefined : parseEnvironment(options.env);
      const reply = await context.api().listPlugins(environment);
      context.print(reply, () => renderList(reply, environment));
    });

  plugin
    .command('show')
    .description('show a plugin: its versions, installations, latest test run per environment, review status, and storage quota and usage per environment')
    .argument(...NAME)
    .action(async (text: string) => {
      const name = parsePluginName(text, 'plugin show');
      // One after the other: a refused or unknown plugin is answered (and recorded) once.
      const detail = await context.api().showPlugin(name);
      const runs = await context.api().listTestRuns(name);
      // The review status is the registry's answer; a plugin show still answers when it cannot be had.
      const review = await context
        .api()
        .showReview(name)
        .catch(() => null);
      const reply = { ...detail, testRuns: latestRunPerEnvironment(runs.runs), review };
      context.print(reply, () => renderDetail(reply) + renderReviewStatus(review));
    });

  plugin
    .command('history')
    .description("show a plugin's events from the audit log, oldest first")
    .argument(...NAME)
    .action(async (text: string) => {
      const name = parsePluginName(text, 'plugin history');
      const reply = await context.api().pluginHistory(name);
      context.print(reply, () =>
        reply.events.length ? formatAuditEntries(reply.events, { withPlugin: false }) : `no events recorded for ${name}\n`,
      );
    });
  return plugin;
}

function renderList(reply: PluginListReply, environment: string | undefined): string {
  if (!reply.plugins.length) return environment ? `no plugins installed in ${environment}\n` : 'no plugins published yet\n';
  const rows = reply.plugins.flatMap((plugin) =>
    plugin.installations.length
      ? plugin.installations.map((i) => [plugin.name, i.version, i.environment, i.status, shortDigest(i.digest)])
      : [[plugin.name, plugin.latestVersion, '-', 'published', '-']],
  );
  return formatTable(['NAME', 'VERSION', 'ENVIRONMENT', 'STATUS', 'DIGEST'], rows);
}

function renderInstallations(installations: readonly Installation[]): string {
  if (!installations.length) return 'not installed in any environment\n';
  return formatTable(
    ['ENVIRONMENT', 'VERSION', 'STATUS', 'DIGEST', 'UPDATED'],
    installations.map((i) => [i.environment, i.version, i.status, shortDigest(i.digest), formatTime(i.updatedAt)]),
  );
}

function renderDetail(reply: PluginDetailReply & { readonly testRuns: readonly TestRunInfo[] }): string {
  const latest = reply.versions.find((v) => v.version === reply.latestVersion);
  const description = latest?.manifest?.['description'];
  const header = [`${cleanCell(reply.name)}  latest ${cleanCell(reply.latestVersion)}`];
  if (typeof description === 'string') header.push(cleanCell(description));
  const versions = formatTable(
    ['VERSION', 'DIGEST', 'SIZE', 'PUBLISHER', 'PUBLISHED', 'SIGNED'],
    reply.versions.map((v) => [v.version, shortDigest(v.digest), formatBytes(v.sizeBytes), v.publisher, formatTime(v.publishedAt), v.signature ? 'yes' : 'no']),
  );
  // Rare and consequential: a version that may reach the platform's own network says so under the table.
  const privateEgress = reply.versions
    .filter((v) => (v.privateEgress ?? []).length > 0)
    .map((v) => `${cleanCell(v.version)} may reach private addresses: ${(v.privateEgress ?? []).map(cleanCell).join(', ')}\n`)
    .join('');
  return `${header.join('\n')}\n\n${versions}${privateEgress}\n${renderInstallations(reply.installations)}${renderLatestTestRuns(reply.testRuns)}${renderStorage(reply.storage)}`;
}

function renderLatestTestRuns(runs: readonly TestRunInfo[]): string {
  if (!runs.length) return '';
  const rows = runs.map((r) => [r.environment, r.version, outcomeOf(r), `${r.vectors.filter((v) => v.passed).length}/${r.vectors.length}`, r.trigger, formatTime(r.completedAt)]);
  return `\nlatest test runs\n${formatTable(['ENVIRONMENT', 'VERSION', 'RESULT', 'VECTORS', 'TRIGGER', 'COMPLETED'], rows)}`;
}

function renderStorage(storage: PluginStorage | null | undefined): string {
  if (storage === undefined) return '';
  if (storage === null) return '\nstorage usage unknown: no sandbox-runner answered\n';
  const { tenant } = storage;
  const total = `storage (tenant total: ${formatBytes(tenant.usedBytes)} of ${formatBytes(tenant.maxBytes)}, ${tenant.usedKeys} of ${tenant.maxKeys} keys)`;
  if (!storage.environments.length) return `\n${total}\nno storage used in any environment\n`;
  const rows = storage.environments.map((e) => [e.environment, e.version ?? '-', formatBytes(e.usedBytes), formatBytes(e.maxBytes), e.usedKeys, e.maxKeys]);
  return `\n${total}\n${formatTable(['ENVIRONMENT', 'VERSION', 'STORED', 'QUOTA', 'KEYS', 'KEY QUOTA'], rows)}`;
}
