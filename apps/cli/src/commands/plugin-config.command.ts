import { ConfigChangeIdSchema, ConfigChangeNotesSchema, ConfigKeySchema } from '@forgeone/contracts';
import type { Command } from 'commander';
import { UsageError } from '../cli.errors.js';
import type { CommandContext } from '../command.context.js';
import { cleanCell, formatTable, formatTime } from '../format/table.js';
import { parseEnvironment, parsePluginName } from '../plugin-ref.js';

/** `KEY=VALUE` as `config set` takes it; the value may hold `=` and may be empty. */
export function parseAssignment(text: string): { key: string; value: string } {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`"${text}" is not KEY=VALUE: write e.g. greeting=hello`);
  return { key: parseConfigKey(text.slice(0, eq)), value: text.slice(eq + 1) };
}

export function parseConfigKey(text: string): string {
  const parsed = ConfigKeySchema.safeParse(text);
  if (!parsed.success) throw new UsageError(`"${text}" is not a configuration key: a letter or "_" then up to 63 letters, digits, "_", "." or "-"`);
  return text;
}

function parseChangeId(text: string): string {
  if (!ConfigChangeIdSchema.safeParse(text).success) throw new UsageError(`--change "${text}" is not a change id: give the id config set answered or config list shows`);
  return text;
}

function parseNotes(text: string): string {
  const parsed = ConfigChangeNotesSchema.safeParse(text);
  if (!parsed.success) throw new UsageError(`--notes ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
  return parsed.data;
}

/** What a set or unset answered: applied, unchanged, or waiting for approval in a gated environment. */
function changeLine(reply: { key: string; secret: boolean; outcome: string; sequence: number; changeId?: string }, name: string, environment: string, verb: 'set' | 'unset'): string {
  const what = `${reply.secret ? 'secret ' : ''}${reply.key} of ${name} in ${environment}`;
  if (reply.outcome === 'proposed') {
    return (
      `${environment} is gated: the change to ${what} awaits approval (change ${reply.changeId}); config_get serves the old value until then\n` +
      `  another approver: forgeone plugin config approve ${name} --env ${environment} --change ${reply.changeId}\n`
    );
  }
  if (reply.outcome === 'unchanged') return `${reply.key} of ${name} in ${environment} already has this value\n`;
  return `${verb} ${what} (seq ${reply.sequence})\n`;
}

/** `plugin config set|unset|list|approve|reject`: what a plugin's config_get answers in one environment. */
export function registerPluginConfigCommands(plugin: Command, context: CommandContext): void {
  const config = plugin.command('config').description("a plugin's configuration in one environment: the values its config_get answers; secrets are stored sealed and never shown again");
  const ENV = ['--env <env>', 'the environment, e.g. staging or production'] as const;

  config
    .command('set')
    .description('set one value (KEY=VALUE); --secret stores it sealed, and list shows only that it is set; in a gated environment the change waits for approval')
    .argument('<name>', 'the plugin, e.g. acme/hello')
    .argument('<assignment>', 'KEY=VALUE')
    .requiredOption(...ENV)
    .option('--secret', 'a secret: stored sealed, never shown again')
    .action(async (nameText: string, assignment: string, options: { env: string; secret?: boolean }) => {
      const name = parsePluginName(nameText, 'plugin config set');
      const environment = parseEnvironment(options.env);
      const { key, value } = parseAssignment(assignment);
      const reply = await context.api().setPluginConfig(environment, name, key, value, options.secret === true);
      context.print(reply, () => changeLine(reply, name, environment, 'set'));
    });

  config
    .command('unset')
    .description('remove one value; in a gated environment the removal waits for approval')
    .argument('<name>', 'the plugin, e.g. acme/hello')
    .argument('<key>', 'the key to remove')
    .requiredOption(...ENV)
    .action(async (nameText: string, keyText: string, options: { env: string }) => {
      const name = parsePluginName(nameText, 'plugin config unset');
      const environment = parseEnvironment(options.env);
      const reply = await context.api().unsetPluginConfig(environment, name, parseConfigKey(keyText));
      context.print(reply, () => changeLine(reply, name, environment, 'unset'));
    });

  config
    .command('list')
    .description('list the values and the changes waiting for approval; a secret shows as (secret, set) with who set it and when')
    .argument('<name>', 'the plugin, e.g. acme/hello')
    .requiredOption(...ENV)
    .action(async (nameText: string, options: { env: string }) => {
      const name = parsePluginName(nameText, 'plugin config list');
      const environment = parseEnvironment(options.env);
      const reply = await context.api().listPluginConfig(environment, name);
      context.print(reply, () => {
        const entries = reply.entries.length
          ? formatTable(
              ['KEY', 'VALUE', 'SET BY', 'SET AT'],
              reply.entries.map((e) => [e.key, e.secret ? '(secret, set)' : cleanCell(e.value), e.setBy ?? '', formatTime(e.setAt)]),
            )
          : `no configuration for ${name} in ${environment}: forgeone plugin config set ${name} --env ${environment} KEY=VALUE\n`;
        if (!reply.pending.length) return entries;
        const pending = formatTable(
          ['CHANGE', 'KEY', 'PROPOSED', 'PROPOSED BY', 'PROPOSED AT'],
          reply.pending.map((p) => [
            p.changeId,
            p.key,
            p.change === 'unset' ? '(unset)' : p.secret ? '(secret)' : cleanCell(p.value),
            cleanCell(p.proposedBy),
            formatTime(p.proposedAt),
          ]),
        );
        return `${entries}\nwaiting for approval (forgeone plugin config approve ${name} --env ${environment} --change CHANGE):\n${pending}`;
      });
    });

  config
    .command('approve')
    .description('approve a configuration change waiting in a gated environment, which applies it; its proposer may not')
    .argument('<name>', 'the plugin, e.g. acme/hello')
    .requiredOption(...ENV)
    .requiredOption('--change <id>', 'the change id, as config set answered it or config list shows it')
    .option('--notes <text>', 'why it is approved (kept in the audit log)')
    .action(async (nameText: string, options: { env: string; change: string; notes?: string }) => {
      const name = parsePluginName(nameText, 'plugin config approve');
      const environment = parseEnvironment(options.env);
      const changeId = parseChangeId(options.change);
      const reply = await context.api().approvePluginConfig(environment, name, changeId, options.notes !== undefined ? parseNotes(options.notes) : undefined);
      context.print(reply, () => `approved change ${changeId}: ${reply.outcome} ${reply.secret ? 'secret ' : ''}${reply.key} of ${name} in ${environment} (seq ${reply.sequence})\n`);
    });

  config
    .command('reject')
    .description('reject a configuration change waiting in a gated environment: it is discarded and never applies')
    .argument('<name>', 'the plugin, e.g. acme/hello')
    .requiredOption(...ENV)
    .requiredOption('--change <id>', 'the change id, as config list shows it')
    .requiredOption('--notes <text>', 'why it is rejected (kept in the audit log)')
    .action(async (nameText: string, options: { env: string; change: string; notes: string }) => {
      const name = parsePluginName(nameText, 'plugin config reject');
      const environment = parseEnvironment(options.env);
      const changeId = parseChangeId(options.change);
      const reply = await context.api().rejectPluginConfig(environment, name, changeId, parseNotes(options.notes));
      context.print(reply, () => `rejected change ${changeId} of ${reply.key} of ${name} in ${environment} (seq ${reply.sequence})\n`);
    });
}
