import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ForgeOneError } from '@forgeone/contracts';
import type { Command } from 'commander';
import type { PolicyCheckQuestion, PolicyCheckReply, PolicySetReply } from '../api-client.js';
import { UsageError } from '../cli.errors.js';
import type { CommandContext } from '../command.context.js';
import { cleanCell, formatTime } from '../format/table.js';
import { parseEnvironment } from '../plugin-ref.js';

interface CheckOptions {
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  readonly env?: string;
  readonly role?: string;
  readonly tenant?: string;
  readonly resourceTenant?: string;
}

const RESOURCE_TYPES: Record<string, PolicyCheckQuestion['resource']['type']> = { plugin: 'Plugin', environment: 'Environment', tenant: 'Tenant' };

/** `--resource <type>:<id>`, e.g. plugin:acme/hello, environment:production or tenant:acme. */
export function parseResource(text: string): { type: PolicyCheckQuestion['resource']['type']; id: string } {
  const colon = text.indexOf(':');
  const type = colon > 0 ? RESOURCE_TYPES[text.slice(0, colon).toLowerCase()] : undefined;
  const id = colon > 0 ? text.slice(colon + 1) : '';
  if (!type || !id) {
    throw new UsageError(`--resource "${text}" must be <type>:<id> with type plugin, environment or tenant, e.g. plugin:acme/hello, environment:production or tenant:acme`);
  }
  return { type, id };
}

async function readPolicyFile(file: string, cwd: string): Promise<string> {
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ForgeOneError('COMMAND.INVALID', `${path} does not exist: give the path of a Cedar policy file, e.g. policies.cedar (forgeone policy show prints the active set as one)`);
    if (code === 'EISDIR') throw new ForgeOneError('COMMAND.INVALID', `${path} is a folder: give the path of a Cedar policy file, e.g. policies.cedar`);
    throw new ForgeOneError('COMMAND.INVALID', `cannot read ${path}: ${(error as Error).message}`);
  }
  // Some editors save a byte-order mark, which is not Cedar.
  text = text.replace(/^\uFEFF/, '');
  if (!text.trim()) throw new ForgeOneError('COMMAND.INVALID', `${path} is empty: a policy set needs at least one policy (an empty set would deny everything)`);
  return text;
}

function describeSet(reply: PolicySetReply): string {
  const applied = reply.appliedAt ? `, applied ${formatTime(reply.appliedAt)}${reply.appliedBy ? ` by ${cleanCell(reply.appliedBy)}` : ''}` : '';
  return `policy set version ${reply.version}, sha256 ${cleanCell(reply.sha256.slice(0, 12))}…${applied}`;
}

/**
 * The active set as one Cedar file that `policy apply` takes back with the same ids: a comment
 * line, then every policy, each with its @id annotation.
 */
export function renderPolicySet(reply: PolicySetReply): string {
  const policies = Object.entries(reply.policies).map(([id, text]) => (/@id\s*\(/.test(text) ? text.trim() : `@id(${JSON.stringify(id)})\n${text.trim()}`));
  return `// ${describeSet(reply)}\n\n${policies.join('\n\n')}\n`;
}

function renderApplied(reply: PolicySetReply): string {
  const ids = Object.keys(reply.policies);
  if (reply.unchanged) return `policy set unchanged: identical to the active version ${reply.version}\n`;
  return `applied ${describeSet(reply)}: ${ids.length} ${ids.length === 1 ? 'policy' : 'policies'} (${ids.map(cleanCell).join(', ')})\n`;
}

function renderCheck(question: PolicyCheckQuestion, reply: PolicyCheckReply): string {
  const where = question.environment ? ` in ${question.environment}` : '';
  const what = `${question.action} ${question.resource.type} ${question.resource.id}${where}`;
  const ids = reply.policyIds.map(cleanCell).join(', ');
  const line =
    reply.decision === 'allow'
      ? `allow: ${question.principal} may ${what} (permitted by ${ids}; policy set version ${reply.policyVersion})`
      : `deny: ${question.principal} may not ${what} (${ids ? `forbidden by ${ids}` : 'no policy permits it'}; policy set version ${reply.policyVersion})`;
  const errors = reply.errors.map((e) => `  evaluation error: ${cleanCell(e)}`);
  return `${[line, ...errors].join('\n')}\n`;
}

function parseVersion(text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(`--expected-version "${text}" must be a version number as policy show prints it`);
  return Number(text);
}

export function registerPolicyCommands(program: Command, context: CommandContext): void {
  const policy = program.command('policy').description('apply, show and try out the Cedar policy set');

  policy
    .command('apply')
    .description('validate a Cedar policy file against the schema and make it the active policy set (a new version)')
    .argument('<file>', 'the Cedar file, e.g. policies.cedar; name policies with @id("...") to keep their ids stable')
    .option('--expected-version <n>', 'refuse if the active set is no longer this version (as policy show printed it)')
    .action(async (file: string, options: { expectedVersion?: string }) => {
      const expectedVersion = options.expectedVersion === undefined ? undefined : parseVersion(options.expectedVersion);
      const text = await readPolicyFile(file, context.io.cwd ?? process.cwd());
      const reply = await context.api().applyPolicies(text, expectedVersion);
      context.print(reply, () => renderApplied(reply));
      if (!context.json) for (const warning of reply.warnings ?? []) context.io.stderr(`warning: ${warning}\n`);
    });

  policy
    .command('show')
    .description('print the active policy set as Cedar (with --json: version, sha256 and policies by id)')
    .action(async () => {
      const reply = await context.api().showPolicies();
      context.print(reply, () => renderPolicySet(reply));
    });

  policy
    .command('check')
    .description('what-if: would a principal be allowed an action on a resource, and which policies decide? Records nothing')
    .requiredOption('--principal <id>', 'the principal to ask about')
    .requiredOption('--action <action>', 'e.g. publish, install, promote, read, read-audit')
    .requiredOption('--resource <type>:<id>', 'plugin:<publisher>/<plugin>, environment:<env> or tenant:<tenant>')
    .option('--env <env>', 'the environment the action targets, e.g. production')
    .option('--role <role>', "assume this role (default: the role of the principal's newest active token)")
    .option('--tenant <tenant>', "assume the principal is of this tenant (default: its token's tenant)")
    .option('--resource-tenant <tenant>', 'the tenant owning the resource (default: --tenant, else your own)')
    .action(async (options: CheckOptions) => {
      const resource = parseResource(options.resource);
      const environment = options.env === undefined ? undefined : parseEnvironment(options.env);
      const question: PolicyCheckQuestion = {
        principal: options.principal,
        // The platform names an unknown action and lists the known ones.
        action: options.action as PolicyCheckQuestion['action'],
        resource: { ...resource, ...(options.resourceTenant !== undefined ? { tenant: options.resourceTenant } : {}) },
        // Likewise an unknown role.
        ...(options.role !== undefined ? { role: options.role as PolicyCheckQuestion['role'] } : {}),
        ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
        ...(environment !== undefined ? { environment } : {}),
      };
      const reply = await context.api().checkPolicy(question);
      context.print(reply, () => renderCheck(question, reply));
    });
}
