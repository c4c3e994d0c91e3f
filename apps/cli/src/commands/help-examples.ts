import type { Command } from 'commander';

/** One or more example lines per verb, by its path below `forgeone`; shown at the end of its --help. */
export const HELP_EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  'plugin publish': ['forgeone plugin publish ./greeter', 'forgeone plugin publish ./greeter --dry-run'],
  'plugin install': [
    'forgeone plugin install acme/greeter@0.1.0 --env staging',
    'forgeone plugin install acme/greeter@0.1.0 --env staging --dry-run',
    "forgeone plugin install acme/greeter@0.1.1 --env production --emergency --reason 'fix for the outage, review follows'",
  ],
  'plugin upgrade': ['forgeone plugin upgrade acme/greeter@0.2.0 --env staging', 'forgeone plugin upgrade acme/greeter@0.2.0 --env staging --dry-run'],
  'plugin rollback': [
    'forgeone plugin rollback acme/greeter@0.1.0 --env staging --reason \'0.2.0 greets in the wrong language\'',
    'forgeone plugin rollback acme/greeter@0.1.0 --env production --reason \'0.2.0 greets in the wrong language\' --dry-run',
  ],
  'plugin remove': ['forgeone plugin remove acme/greeter --env staging'],
  'plugin list': ['forgeone plugin list --env staging'],
  'plugin show': ['forgeone plugin show acme/greeter'],
  'plugin history': ['forgeone plugin history acme/greeter --json'],
  'plugin review': ["forgeone plugin review acme/greeter --outcome approved --notes 'quarterly review: grants and limits unchanged'"],
  'review list': ['forgeone review list', 'forgeone review list --overdue --json'],
  'incident record': ["forgeone incident record --severity major --summary 'data leak through greeter logs' --plugins acme/greeter", "forgeone incident record --severity minor --summary 'slow responses'"],
  'regulation record': ["forgeone regulation record --summary 'new retention rule for personal data' --all"],
  'plugin call': ['forgeone plugin call acme/greeter greet --env staging --input ada', 'forgeone plugin call acme/pii-redactor redact --env staging --input @mail.txt'],
  'plugin sign': ['forgeone plugin sign ./greeter --key ~/.forgeone/acme/private.pem --expires 90d'],
  'plugin new': ['forgeone plugin new acme/greeter --lang rust', 'forgeone plugin new acme/greeter --lang assemblyscript --dir ./plugins/greeter'],
  'plugin build': ['forgeone plugin build ./greeter'],
  'plugin test': ['forgeone plugin test --local ./greeter', 'forgeone plugin test --local ./fetcher --http-fixtures fixtures.json', 'forgeone plugin test acme/greeter@0.2.0 --env staging'],
  'plugin test-runs': ['forgeone plugin test-runs acme/greeter --env staging'],
  'plugin inspect': ['forgeone plugin inspect ./greeter', 'forgeone plugin inspect ./greeter/plugin.wasm --json'],
  'plugin verify': ['forgeone plugin verify ./greeter --key alice.pem', 'forgeone plugin verify ./greeter --key alice.pem --key bob.pem --threshold 2'],
  'audit log': ['forgeone audit log --plugin acme/greeter --since 7d'],
  'audit key': ['forgeone audit key --out audit-key.pem --pin'],
  'audit checkpoint': ['forgeone audit checkpoint --key audit-key.pem'],
  'audit prove': ['forgeone audit prove 42 --key audit-key.pem'],
  'call-recording': ['forgeone call-recording per-call --env production', 'forgeone call-recording windows'],
  report: ['forgeone report plugin-calls --from 2026-12-01 --to 2026-12-07 --csv', 'forgeone report call-windows --json'],
  'audit verify': ['DATABASE_URL=postgres://auditor@db/forgeone forgeone audit verify --key audit-key.pem'],
  'audit export': ['forgeone audit export --framework soc2 --from 2026-10-01 --to 2026-12-31 --out evidence-q4'],
  'audit verify-export': ['forgeone audit verify-export evidence-q4 --key audit-key.pem'],
  'token create': ['forgeone token create --principal dev-42 --role developer --expires 30d'],
  'token list': ['forgeone token list --json'],
  'token revoke': ['forgeone token revoke <tokenId> --reason \'left the team\''],
  'policy apply': ['forgeone policy apply my-policies.cedar'],
  'policy show': ['forgeone policy show'],
  'policy check': ['forgeone policy check --principal dev-42 --action install --resource Plugin:acme/greeter --env production'],
  'keys generate': ['forgeone keys generate --out ~/.forgeone/acme'],
  'keys trust': ['forgeone keys trust ~/.forgeone/acme/public.pem --publisher acme'],
  'keys revoke': ['forgeone keys revoke <keyId> --reason \'laptop lost\''],
  'keys list': ['forgeone keys list'],
  'siem status': ['forgeone siem status', 'forgeone siem status --json'],
  'siem sink add': [
    'forgeone siem sink add soc tls://siem.example.com:6514 --ca-file soc-ca.pem',
    'forgeone siem sink add splunk https://hec.example.com:8088/ --ca-file hec-ca.pem --token-file hec.token --min-severity medium',
  ],
  'siem sink list': ['forgeone siem sink list', 'forgeone siem sink list --json'],
  'siem sink remove': ['forgeone siem sink remove soc'],
  'siem sink test': ['forgeone siem sink test soc'],
  'env list': ['forgeone env list', 'forgeone env list --json'],
  'env show': ['forgeone env show production'],
  'env set': ['forgeone env set production --threshold 2 --soak 24h', 'forgeone env set staging --mode strict', 'forgeone env set production --mode audit  # waits for a second administrator'],
  'env confirm': ['forgeone env confirm production'],
  'plugin config set': ['forgeone plugin config set acme/greeter --env production greeting=hello', 'forgeone plugin config set acme/greeter --env production api_token=s3cr3t --secret'],
  'plugin config unset': ['forgeone plugin config unset acme/greeter --env production greeting'],
  'plugin config list': ['forgeone plugin config list acme/greeter --env production'],
  'plugin config approve': ['forgeone plugin config approve acme/greeter --env production --change 0193a3c2-7d1e-7b8a-9f00-5a1d2e3f4b5c --notes "checked with the vendor"'],
  'plugin config reject': ["forgeone plugin config reject acme/greeter --env production --change 0193a3c2-7d1e-7b8a-9f00-5a1d2e3f4b5c --notes 'wrong endpoint'"],
  'plugin approve': ['forgeone plugin approve acme/greeter@0.2.0 --env production --notes "staging run clean"', 'forgeone plugin approve acme/greeter@0.2.0 --env production --accept-regressions'],
  'plugin reject': ["forgeone plugin reject acme/greeter@0.2.0 --env production --notes 'greets in the wrong language'"],
  'plugin promote': ['forgeone plugin promote acme/greeter@0.2.0 --from staging --to production --dry-run', 'forgeone plugin promote acme/greeter@0.2.0 --from staging --to production'],
  up: ['forgeone up'],
  watch: ['forgeone watch ./plugins --env staging', 'forgeone watch ./plugins --env staging --once --json'],
  'admin nats-client create': ['forgeone admin nats-client create release-bot'],
  'admin nats-client list': ['forgeone admin nats-client list'],
  'admin nats-client revoke': ['forgeone admin nats-client revoke release-bot'],
  'admin nats-config': ['forgeone admin nats-config'],
  'admin setup': ['NATS_URL=nats://operator@nats:4222 forgeone admin setup'],
  'admin backup': ['DATABASE_URL=postgres://forgeone@db/forgeone forgeone admin backup --out /backups/today --data-dir /var/lib/forgeone'],
  'admin restore': ['DATABASE_URL=postgres://forgeone@new-db/forgeone forgeone admin restore /backups/today --data-dir /var/lib/forgeone-new'],
  'admin rebuild': [
    'NATS_URL=nats://operator@nats:4222 forgeone admin rebuild',
    'NATS_URL=nats://operator@nats:4222 forgeone admin rebuild --swap',
    'forgeone admin rebuild --status rb_20261207t031500_a1b2c3 --json',
  ],
  login: ['forgeone login --api https://forgeone.example.com --profile prod', 'forgeone login --api http://127.0.0.1:8080 < token.txt'],
  'profile list': ['forgeone profile list'],
  'profile use': ['forgeone profile use prod'],
  completion: ['source <(forgeone completion bash)', 'forgeone completion fish | source'],
};

/** The verbs below `command` that run something (no subcommands), with their paths. */
export function leafCommands(command: Command, path: readonly string[] = []): { readonly path: string; readonly command: Command }[] {
  const children = command.commands.filter((c) => c.name() !== 'help');
  if (children.length === 0) return path.length ? [{ path: path.join(' '), command }] : [];
  return children.flatMap((c) => leafCommands(c, [...path, c.name()]));
}

/** Adds each verb's examples to its --help. */
export function addHelpExamples(program: Command): void {
  for (const { path, command } of leafCommands(program)) {
    const examples = HELP_EXAMPLES[path];
    if (examples?.length) command.addHelpText('after', `\nExample${examples.length > 1 ? 's' : ''}:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`);
  }
}
