import { read } from 'read';
import type { Command } from 'commander';
import { parseApiUrl } from '../cli.config.js';
import { UsageError } from '../cli.errors.js';
import type { CommandContext } from '../command.context.js';
import { formatTable } from '../format/table.js';
import { DEFAULT_PROFILE, isProfileName, profilesPath, readProfiles, writeProfiles } from '../profile.store.js';

const MAX_TOKEN_LENGTH = 4096;

/** The token from a prompt that does not echo (a terminal) or the first line of stdin (a pipe). */
async function readToken(context: CommandContext): Promise<string> {
  const stdin = context.io.stdin;
  if (!stdin) throw new UsageError('login reads the token from stdin, and there is none here');
  if (stdin.isTTY) {
    const output = context.io.stderrStream ?? process.stderr;
    return (await read({ prompt: 'API token: ', silent: true, replace: '', input: stdin, output })).trim();
  }
  let text = '';
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    if (text.length > MAX_TOKEN_LENGTH + 2) break;
  }
  return text.split(/\r?\n/)[0].trim();
}

function parseProfileName(name: string, where: string): string {
  if (!isProfileName(name)) throw new UsageError(`${where} "${name}" is not a profile name: use letters, digits, ".", "_" and "-" (at most 64)`);
  return name;
}

/** `forgeone login` and `forgeone profile list|use`. */
export function registerProfileCommands(program: Command, context: CommandContext): void {
  program
    .command('login')
    .description('store the gateway URL and an API token as a profile in your config folder (mode 0600); the token is read from a prompt or stdin, never from an argument')
    .requiredOption('--api <url>', 'the gateway URL, e.g. https://forgeone.example.com')
    .action(async (options: { api: string }) => {
      const name = parseProfileName(context.profile ?? DEFAULT_PROFILE, '--profile');
      const api = parseApiUrl(options.api, '--api');
      const token = await readToken(context);
      if (!token) throw new UsageError('no token was given: type it at the prompt or pipe it in, e.g. forgeone login --api <url> < token-file');
      if (token.length > MAX_TOKEN_LENGTH || /\s/.test(token)) throw new UsageError(`the token must be one word of at most ${MAX_TOKEN_LENGTH} characters, as forgeone token create printed it`);
      const file = await readProfiles(context.io.env);
      const profiles = { ...file.profiles, [name]: { api, token } };
      const current = file.current !== undefined && file.profiles[file.current] !== undefined ? file.current : name;
      const path = await writeProfiles(context.io.env, { current, profiles });
      const reply = { profile: name, api, current: current === name, file: path };
      context.print(reply, () => `logged in: profile ${name} uses ${api}${current === name ? ' (current)' : ''}; token stored in ${path}\n`);
    });

  const profile = program.command('profile').description('list the stored profiles or choose the current one');
  profile
    .command('list')
    .description('list the stored profiles (tokens are never shown)')
    .action(async () => {
      const file = await readProfiles(context.io.env);
      const rows = Object.entries(file.profiles)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, p]) => ({ name, api: p.api, current: name === file.current, hasToken: p.token !== undefined }));
      context.print({ file: profilesPath(context.io.env), profiles: rows }, () =>
        rows.length
          ? formatTable(['', 'PROFILE', 'API', 'TOKEN'], rows.map((r) => [r.current ? '*' : ' ', r.name, r.api, r.hasToken ? 'stored' : 'none']))
          : 'no profiles yet: forgeone login --api <url> [--profile <name>]\n',
      );
    });
  profile
    .command('use')
    .description('make a stored profile the current one')
    .argument('<name>', 'a profile from forgeone profile list')
    .action(async (text: string) => {
      const name = parseProfileName(text, 'profile');
      const file = await readProfiles(context.io.env);
      if (file.profiles[name] === undefined) {
        const known = Object.keys(file.profiles);
        throw new UsageError(`profile "${name}" does not exist; ${known.length ? `known profiles: ${known.join(', ')}` : 'there are none yet'} (create it with forgeone login --api <url> --profile ${name})`);
      }
      const path = await writeProfiles(context.io.env, { ...file, current: name });
      context.print({ current: name, api: file.profiles[name].api, file: path }, () => `profile ${name} is now current (${file.profiles[name].api})\n`);
    });
}
