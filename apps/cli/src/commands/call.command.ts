import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ForgeOneError, InvokeRequestSchema } from '@forgeone/contracts';
import type { Command } from 'commander';
import type { CallInput, CallReply } from '../api-client.js';
import { UsageError } from '../cli.errors.js';
import type { CommandContext } from '../command.context.js';
import { parseEnvironment, parsePluginName } from '../plugin-ref.js';

interface CallOptions {
  readonly env: string;
  readonly input: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns `--input` into the request input: text as given, `@file` as the file's bytes (sent as text
 * when they are valid UTF-8, else as base64), `@@text` as the literal text `@text`.
 */
export async function readCallInput(value: string, cwd: string): Promise<CallInput> {
  if (value.startsWith('@@')) return { input: value.slice(1) };
  if (!value.startsWith('@')) return { input: value };
  const file = value.slice(1);
  if (!file) throw new UsageError('--input "@" names no file: write --input @<file> to send a file, or --input @@<text> for text starting with "@"');
  const path = resolve(cwd, file);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ForgeOneError('COMMAND.INVALID', `${path} does not exist; --input @<file> sends a file's contents (use @@<text> for text starting with "@")`);
    if (code === 'EISDIR') throw new ForgeOneError('COMMAND.INVALID', `${path} is a folder; --input @<file> takes a file`);
    throw new ForgeOneError('COMMAND.INVALID', `cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return { input: utf8.decode(bytes) };
  } catch {
    return { inputBase64: bytes.toString('base64') };
  }
}

function parseHandler(text: string): string {
  if (InvokeRequestSchema.shape.handler.safeParse(text).success) return text;
  throw new UsageError(`"${text}" is not a handler name: use letters, digits and "_", not starting with a digit (the plugin's manifest lists its handlers)`);
}

function renderOutput(reply: CallReply, context: CommandContext): string {
  if (reply.output !== undefined) return reply.output.endsWith('\n') ? reply.output : `${reply.output}\n`;
  // Bytes that are not text would garble the terminal: print them as base64 and say so.
  context.io.stderr('the output is not UTF-8 text; printed as base64\n');
  return `${reply.outputBase64 ?? ''}\n`;
}

/** `forgeone plugin call <name> <handler> --env <env> --input <text|@file>`: one call of an installed plugin. */
export function registerCallCommand(plugin: Command, context: CommandContext): void {
  plugin
    .command('call')
    .description('call a handler of a plugin installed in an environment and print its output')
    .argument('<name>', 'plugin name as <publisher>/<plugin>')
    .argument('<handler>', "a handler the plugin exports (its manifest's handlers), e.g. greet")
    .requiredOption('--env <env>', 'environment the plugin is installed in, e.g. staging')
    .option('--input <text|@file>', 'the input: text, or @<file> to send a file (bytes that are not UTF-8 go as base64); @@<text> for text starting with "@"', '')
    .action(async (text: string, handlerText: string, options: CallOptions) => {
      const name = parsePluginName(text, 'plugin call');
      const handler = parseHandler(handlerText);
      const environment = parseEnvironment(options.env);
      const input = await readCallInput(options.input, context.io.cwd ?? process.cwd());
      const reply = await context.api().callPlugin(environment, name, handler, input);
      context.print(reply, () => renderOutput(reply, context));
    });
}
