import { ConfigKeySchema } from '@forgeone/contracts';
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

/** `plugin config set|unset|list`: what a plugin's config_get answers in one environment. */
export function registerPluginConfigCommands(plugin: Command, context: CommandContext): void {
  const config = plugin.command('config').description("a plugin's configuration in one environment: the values its config_get answers; secrets are stored sealed and never shown again");
  const ENV = ['--env <env>', 'the environment, e.g. staging or production'] as const;

  config
    .command('set')
    .description('set one value (KEY=VALUE); --secret stores it sealed, and list shows only that it is set')
    .argument('<name>', 'the plugin, e.g. acme/hello')
    .argument('<assignment>', 'KEY=VALUE')
    .requiredOption(...ENV)
    .option('--secret', 'a secret: stored sealed, never shown again')
    .action(async (nameText: string, assignment: string, options: { env: string; secret?: boolean }) => {
      const name = parsePluginName(nameText, 'plugin config set');
      const environment = parseEnvironment(options.env);
      const { key, value } = parseAssignment(assignment);
      const reply = await context.api().setPluginConfig(environment, name, key, value, options.secret === true);
      context.print(reply, () =>
        reply.outcome === 'unchanged' ? `${key} of ${name} in ${environment} already has this value\n` : `set ${reply.secret ? 'secret ' : ''}${key} of ${name} in ${environment} (seq ${reply.sequence})\n`,
      );
    });

  config
    .command('unset')
    .description('remove one value')
    .argument('<name>', 'the plugin, e.g. acme/hello')
    .argument('<key>', 'the key to remove')
    .requiredOption(...ENV)
    .action(async (nameText: string, keyText: string, options: { env: string }) => {
      const name = parsePluginName(nameText, 'plugin config unset');
      const environment = parseEnvironment(options.env);
      const reply = await context.api().unsetPluginConfig(environment, name, parseConfigKey(keyText));
      context.print(reply, () => `unset ${reply.key} of ${name} in ${environment} (seq ${reply.sequence})\n`);
    });

  config
    .command('list')
    .description('list the values; a secret shows as (secret, set) with who set it and when')
    .argument('<name>', 'the plugin, e.g. acme/hello')
    .requiredOption(...ENV)
    .action(async (nameText: string, options: { env: string }) => {
      const name = parsePluginName(nameText, 'plugin config list');
      const environment = parseEnvironment(options.env);
      const reply = await context.api().listPluginConfig(environment, name);
      context.print(reply, () =>
        reply.entries.length
          ? formatTable(
              ['KEY', 'VALUE', 'SET BY', 'SET AT'],
              reply.entries.map((e) => [e.key, e.secret ? '(secret, set)' : cleanCell(e.value), e.setBy ?? '', formatTime(e.setAt)]),
            )
          : `no configuration for ${name} in ${environment}: forgeone plugin config set ${name} --env ${environment} KEY=VALUE\n`,
      );
    });
}
