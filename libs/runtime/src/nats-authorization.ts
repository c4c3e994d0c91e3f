import { busPermissions, busUserName, SERVICE_PRINCIPALS, type BusPrincipal, type Names } from '@forgeone/contracts';

/** How a NATS user proves who it is: an NKey (public key in the configuration) or a password read from a variable. */
export type NatsUserAuth = { readonly nkey: string } | { readonly passwordVariable: string };

export interface NatsUserEntry {
  readonly principal: BusPrincipal;
  readonly auth: NatsUserAuth;
}

const quote = (value: string) => JSON.stringify(value);
const list = (values: readonly string[], indent: string) =>
  values.length === 0 ? '[]' : `[\n${values.map((value) => `${indent}  ${quote(value)}`).join(',\n')}\n${indent}]`;

/** One user's block of a nats-server configuration, with the permissions of the table in libs/contracts. */
export function renderNatsUser(names: Names, entry: NatsUserEntry, indent = '    '): string {
  const permissions = busPermissions(names, entry.principal);
  const credential =
    'nkey' in entry.auth
      ? `nkey: ${quote(entry.auth.nkey)}`
      : `user: ${quote(busUserName(entry.principal))}\n${indent}  password: $${entry.auth.passwordVariable}`;
  const inner = `${indent}  `;
  const publish = [`${inner}    allow: ${list(permissions.publish, `${inner}    `)}`];
  if (permissions.publishDeny.length > 0) publish.push(`${inner}    deny: ${list(permissions.publishDeny, `${inner}    `)}`);
  return [
    `${indent}# ${busUserName(entry.principal)} (inbox prefix ${permissions.inboxPrefix})`,
    `${indent}{`,
    `${inner}${credential}`,
    `${inner}permissions: {`,
    `${inner}  publish: {`,
    ...publish,
    `${inner}  }`,
    `${inner}  subscribe: {`,
    `${inner}    allow: ${list(permissions.subscribe, `${inner}    `)}`,
    `${inner}  }`,
    ...(permissions.allowResponses ? [`${inner}  allow_responses: true`] : []),
    `${inner}}`,
    `${indent}}`,
  ].join('\n');
}

/** The users array of a nats-server configuration (`users: [ ... ]`). */
export function renderNatsUsers(names: Names, entries: readonly NatsUserEntry[], indent = '    '): string {
  return `users: [\n${entries.map((entry) => renderNatsUser(names, entry, indent)).join('\n')}\n${indent.slice(2)}]`;
}

/**
 * The password variable of a service or client for configurations that read passwords from the
 * environment: `FORGEONE_NATS_<USER>_PASSWORD` (`-` as `_`, upper case).
 */
export function natsPasswordVariable(principal: BusPrincipal): string {
  return `FORGEONE_NATS_${busUserName(principal).replace(/-/g, '_').toUpperCase()}_PASSWORD`;
}

/**
 * The `accounts` block for a nats-server that reads passwords from its environment (docker compose,
 * a shared server): one account with JetStream, the operator and every service, with the permissions
 * of the table. `infra/nats/accounts.conf` is this output for the default namespace.
 */
export function renderPasswordAccounts(names: Names): string {
  const entries: NatsUserEntry[] = [{ kind: 'operator' } as const, ...SERVICE_PRINCIPALS].map((principal) => ({
    principal,
    auth: { passwordVariable: natsPasswordVariable(principal) },
  }));
  return [
    '# Generated from the permission table in libs/contracts/src/bus-permissions.ts by',
    `# \`forgeone admin nats-config${names.namespace ? ` --namespace ${names.namespace}` : ''}\`; do not edit by hand (a test compares it).`,
    '# Every password is a $VARIABLE that nats-server reads from its environment at start.',
    'accounts {',
    '  FORGEONE {',
    '    jetstream: enabled',
    `    ${renderNatsUsers(names, entries, '      ')}`,
    '  }',
    '}',
    '',
  ].join('\n');
}
