import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { EXIT_OK, EXIT_USAGE, exitCodeFor, formatError, UsageError } from './cli.errors.js';
import { createCommandContext, type CliIo, type CommandContext } from './command.context.js';
import { registerAdminCommands } from './commands/admin.command.js';
import { registerAuditCommands } from './commands/audit.command.js';
import { registerReportCommand } from './commands/report.command.js';
import { registerCallCommand } from './commands/call.command.js';
import { registerPluginCommands } from './commands/plugin.command.js';
import { registerKeysCommands } from './commands/keys.command.js';
import { registerSiemCommands } from './commands/siem.command.js';
import { registerEnvCommands } from './commands/env.command.js';
import { registerPluginReviewCommand, registerReviewCommands } from './commands/review.command.js';
import { registerPolicyCommands } from './commands/policy.command.js';
import { registerSignCommand } from './commands/sign.command.js';
import { registerTokenCommands } from './commands/token.command.js';
import { registerUpCommand } from './commands/up.command.js';
import { registerAuthorCommands } from './commands/author.command.js';
import { registerCompletionCommand } from './commands/completion.command.js';
import { addHelpExamples } from './commands/help-examples.js';
import { registerProfileCommands } from './commands/profile.command.js';
import { registerWatchCommand } from './commands/watch.command.js';
import type { CommandTrace, CommandTracing } from './tracing/command-span.tracer.js';
import { UNTRACED_VERBS } from './tracing/trace-export.settings.js';

export type { CliIo } from './command.context.js';

const VERSION = cliVersion();

/** The version in the CLI's package.json: next to src/ and dist/, or two levels above the bundle in dist/bundle/. */
function cliVersion(): string {
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name?: string; version: string };
      if (pkg.name === '@forgeone/cli') return pkg.version;
    } catch {
      // not at this level: try the next one
    }
  }
  throw new Error('the forgeone CLI cannot find its package.json');
}

/** --json decides how errors print, including the usage errors commander raises before any action runs. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/** --profile, like --json, is a program-level option that any verb may carry. */
function profileOption(argv: readonly string[]): string | undefined {
  const end = argv.indexOf('--');
  const args = end === -1 ? argv : argv.slice(0, end);
  let value: string | undefined;
  args.forEach((arg, i) => {
    if (arg === '--profile' && i + 1 < args.length) value = args[i + 1];
    else if (arg.startsWith('--profile=')) value = arg.slice('--profile='.length);
  });
  return value;
}

export function buildProgram(context: CommandContext): Command {
  const { io, json } = context;
  const program = new Command('forgeone')
    .description('ForgeOne: write, test, publish, install and audit WebAssembly plugins.\nConfigured by a profile (forgeone login) or FORGEONE_API (default http://127.0.0.1:8080) and FORGEONE_TOKEN, which win over the profile.')
    .version(VERSION, '-V, --version', 'print the version')
    // One program-level flag, accepted before or after any verb; leaf help lists it under "Global Options".
    .option('--json', 'print the API reply (or the error) as one JSON document')
    .option('--profile <name>', 'the stored profile to use (forgeone login); default FORGEONE_PROFILE, else the current one')
    .configureHelp({ showGlobalOptions: true })
    // Set before any subcommand is added, which copies these settings.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      // With --json, stderr carries only the JSON error object that run() writes.
      writeErr: (text) => {
        if (!json) io.stderr(text);
      },
    })
    .showHelpAfterError('(add --help for usage)');
  const plugin = registerPluginCommands(program, context);
  registerCallCommand(plugin, context);
  registerSignCommand(plugin, context);
  registerAuthorCommands(plugin, context);
  registerAuditCommands(program, context);
  registerReportCommand(program, context);
  registerTokenCommands(program, context);
  registerPolicyCommands(program, context);
  registerKeysCommands(program, context);
  registerEnvCommands(program, context);
  registerPluginReviewCommand(plugin, context);
  registerReviewCommands(program, context);
  registerUpCommand(program, context);
  registerWatchCommand(program, context);
  registerAdminCommands(program, context);
  registerProfileCommands(program, context);
  registerSiemCommands(program, context);
  registerCompletionCommand(program, context);
  addHelpExamples(program);
  return program;
}

function usageMessage(error: CommanderError): string {
  if (error.code === 'commander.help') return 'a command is missing: run "forgeone --help" to list them';
  return error.message.replace(/^error: /, '');
}

/** The verb an action belongs to, as typed: `plugin call`. */
function verbOf(action: Command): string {
  const names: string[] = [];
  for (let at: Command | null = action; at?.parent; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/**
 * Runs the CLI on `argv` (the arguments after the program name) and resolves with the exit
 * code: 0 on success, 1 for API, network and input-file errors, 2 for usage errors.
 * With `tracing`, the command (once its verb is known, so help and usage errors never load it) is
 * one span, and its requests carry that span's context.
 */
export async function run(argv: readonly string[], io: CliIo, tracing?: () => Promise<CommandTracing>): Promise<number> {
  const json = wantsJson(argv);
  let trace: CommandTrace | undefined;
  const context = createCommandContext(io, json, profileOption(argv), () => trace);
  const program = buildProgram(context);
  program.hook('preAction', async (_program, action) => {
    const verb = verbOf(action);
    if (tracing && !UNTRACED_VERBS.has(verb)) trace = (await tracing()).start(verb, io.env);
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    const code = context.exitCode ?? EXIT_OK;
    trace?.end(code);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT_OK;
      if (json) io.stderr(`${JSON.stringify({ error: { code: 'COMMAND.INVALID', message: usageMessage(error) } })}\n`);
      trace?.end(EXIT_USAGE, new UsageError(usageMessage(error)));
      return EXIT_USAGE;
    }
    io.stderr(formatError(error, json));
    trace?.end(exitCodeFor(error), error);
    return exitCodeFor(error);
  }
}
