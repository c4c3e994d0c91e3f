import type { Command } from 'commander';
import type { CreatedToken, TokenInfo } from '../api-client.js';
import { UsageError } from '../cli.errors.js';
import type { CommandContext } from '../command.context.js';
import { cleanCell, formatTable, formatTime } from '../format/table.js';
import { isoTimeMs, spanMs } from '../time-span.js';

interface CreateOptions {
  readonly principal: string;
  readonly role: string;
  readonly tenant?: string;
  readonly expires?: string;
  readonly type?: string;
}

/** `--expires` takes an ISO 8601 time or a span from now such as 12h, 30d or 2w; it must lie ahead. */
export function parseExpires(text: string, now: Date): string {
  const span = spanMs(text);
  const time = span !== undefined ? now.getTime() + span : isoTimeMs(text);
  if (time === undefined) {
    throw new UsageError(`--expires "${text}" is not a time: give an ISO 8601 time such as 2027-01-31T09:00:00Z, or a span from now such as 12h, 30d or 2w`);
  }
  if (time <= now.getTime()) throw new UsageError(`--expires "${text}" is not in the future; give a later time, or leave --expires out for a token that does not expire`);
  return new Date(time).toISOString();
}

function parsePrincipalType(text: string | undefined): 'user' | 'service' | undefined {
  if (text === undefined || text === 'user' || text === 'service') return text;
  throw new UsageError(`--type "${text}" is not a principal type: use user (a person) or service (a pipeline or other automation)`);
}

function status(token: TokenInfo, now: number): string {
  if (token.revokedAt) return 'revoked';
  if (token.expiresAt && Date.parse(token.expiresAt) <= now) return 'expired';
  return 'active';
}

function renderCreated(reply: CreatedToken): string {
  return `${reply.token}\n`;
}

export function registerTokenCommands(program: Command, context: CommandContext): void {
  const token = program.command('token').description('issue, list and revoke API tokens (needs a role that may manage tokens)');

  token
    .command('create')
    .description('issue an API token for a principal with a role; prints the token, which is shown only this once')
    .requiredOption('--principal <id>', 'who the token is for: an opaque id such as u-4711 or ci-release (never an e-mail address)')
    .requiredOption('--role <role>', 'admin, release-manager, developer, operator or auditor')
    .option('--tenant <tenant>', 'the tenant the token acts in (default: your own)')
    .option('--expires <time>', 'when the token stops working: ISO 8601, or a span from now such as 12h, 30d or 2w (default: never)')
    .option('--type <type>', 'user (default) or service, for pipelines and other automation')
    .action(async (options: CreateOptions) => {
      const expiresAt = options.expires === undefined ? undefined : parseExpires(options.expires, new Date());
      const principalType = parsePrincipalType(options.type);
      const reply = await context.api().createToken({
        principal: options.principal,
        role: options.role,
        ...(principalType ? { principalType } : {}),
        ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
        ...(expiresAt ? { expiresAt } : {}),
      });
      // stdout holds the token alone, so `export FORGEONE_TOKEN=$(forgeone token create ...)` works.
      context.print(reply, () => renderCreated(reply));
      if (!context.json) {
        const expiry = reply.expiresAt ? `, expires ${formatTime(reply.expiresAt)}` : '';
        context.io.stderr(
          `issued token ${cleanCell(reply.tokenId)} to ${cleanCell(reply.principal)} (role ${cleanCell(reply.role)}, tenant ${cleanCell(reply.tenant)}${expiry}); ` +
            'it is shown only this once and stored nowhere: hand it over now\n',
        );
      }
    });

  token
    .command('list')
    .description('list API tokens (never their secrets), oldest first')
    .option('--tenant <tenant>', "another tenant's tokens (default: your own)")
    .action(async (options: { tenant?: string }) => {
      const reply = await context.api().listTokens(options.tenant);
      const now = Date.now();
      context.print(reply, () =>
        reply.tokens.length
          ? formatTable(
              ['TOKEN ID', 'PRINCIPAL', 'TYPE', 'ROLE', 'TENANT', 'ISSUED', 'EXPIRES', 'STATUS'],
              reply.tokens.map((t) => [t.tokenId, t.principal, t.principalType, t.role, t.tenant, formatTime(t.issuedAt), formatTime(t.expiresAt), status(t, now)]),
            )
          : 'no tokens issued yet\n',
      );
    });

  token
    .command('revoke')
    .description('revoke a token at once; the reason is kept in the audit log')
    .argument('<tokenId>', 'the token id, as token list shows it')
    .requiredOption('--reason <text>', 'why, for the audit log')
    .action(async (tokenId: string, options: { reason: string }) => {
      if (!options.reason.trim()) throw new UsageError('--reason must say why the token is revoked; it is kept in the audit log');
      // A whole token pasted by mistake: use its id, never send or print the secret.
      const id = /^fo_([0-9a-f]{16})_/.exec(tokenId)?.[1] ?? tokenId;
      const reply = await context.api().revokeToken(id, options.reason);
      context.print(reply, () =>
        reply.alreadyRevoked
          ? `token ${cleanCell(reply.tokenId)} of ${cleanCell(reply.principal)} was already revoked at ${formatTime(reply.revokedAt)}\n`
          : `revoked token ${cleanCell(reply.tokenId)} of ${cleanCell(reply.principal)}\n`,
      );
    });
}
