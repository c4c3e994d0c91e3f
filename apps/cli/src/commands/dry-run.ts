import { createHash } from 'node:crypto';
import { describePrivateEgress, ForgeOneError, PluginManifestSchema, privateEgressEntries, SIGNATURE_FILE } from '@forgeone/contracts';
import { inspectPluginModule } from '@forgeone/plugin-abi';
import { checkEnvelopeStructure } from '@forgeone/signing';
import type { InstallationDryRunReply, InstallationDryRunRequest } from '../api-client.js';
import type { CommandContext } from '../command.context.js';
import { cleanCell } from '../format/table.js';
import type { PluginFolder } from '../plugin-folder.reader.js';

interface DryRunCheck {
  readonly check: string;
  readonly ok: boolean;
  readonly message: string;
}

interface DryRunReport {
  readonly dryRun: true;
  readonly action: string;
  readonly wouldSucceed: boolean;
  readonly checks: readonly DryRunCheck[];
  readonly request: Record<string, unknown>;
  /** What only the platform can judge, so the dry run could not. */
  readonly notChecked: readonly string[];
}

function report(context: CommandContext, reply: DryRunReport): void {
  context.print(reply, () => {
    const checks = reply.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.check}: ${cleanCell(c.message)}`).join('\n');
    const request = Object.entries(reply.request).map(([k, v]) => `  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join('\n');
    const verdict = reply.wouldSucceed ? 'the checks made here pass' : 'the platform would refuse this';
    return `dry run of ${reply.action} (nothing was sent or changed): ${verdict}\n${checks}\nthe platform would be asked:\n${request}\nnot checked here:\n${reply.notChecked.map((n) => `  - ${n}`).join('\n')}\n`;
  });
  if (!reply.wouldSucceed) context.setExitCode(1);
}

/** `plugin publish --dry-run`: the manifest, ABI, capability, egress and envelope checks publish makes, run here. */
export async function dryRunPublish(context: CommandContext, folder: PluginFolder, signature: string | undefined): Promise<void> {
  const manifest = PluginManifestSchema.parse(folder.manifest);
  const inspection = inspectPluginModule(folder.wasm, { manifest, fileName: 'plugin.wasm' });
  const checks: DryRunCheck[] = [{ check: 'manifest', ok: true, message: `${manifest.name}@${manifest.version} matches the manifest schema` }];
  checks.push(inspection.check.ok ? { check: 'abi', ok: true, message: `ABI v${inspection.abi}, handlers ${inspection.handlers.join(', ')}` } : { check: 'abi', ok: false, message: `${inspection.check.code}: ${inspection.check.problems.join('; ')}` });
  const missing = inspection.missingCapabilities ?? [];
  checks.push(
    missing.length
      ? { check: 'capabilities', ok: false, message: `the module imports host functions needing ${missing.join(', ')}, which the manifest does not grant` }
      : { check: 'capabilities', ok: true, message: `needs ${inspection.requiredCapabilities.join(', ') || 'none'}, all granted` },
  );
  const privateEgress = privateEgressEntries(manifest.capabilities.http?.allow ?? []);
  if (privateEgress.length) {
    checks.push({ check: 'egress', ok: true, message: `needs the publish-private-egress permission (by default the platform administrator only): ${privateEgress.map(describePrivateEgress).join('; ')}` });
  }
  if (signature !== undefined) {
    const structure = checkEnvelopeStructure(new TextEncoder().encode(signature));
    checks.push(structure.ok ? { check: 'signature', ok: true, message: `${SIGNATURE_FILE} is a well-formed envelope (${structure.envelopeDigest})` } : { check: 'signature', ok: false, message: `${structure.reason}: ${structure.message}` });
  }
  const config = await context.config();
  report(context, {
    dryRun: true,
    action: 'plugin publish',
    wouldSucceed: checks.every((c) => c.ok),
    checks,
    request: {
      api: `POST ${config.apiUrl}/v1/plugins`,
      plugin: `${manifest.name}@${manifest.version}`,
      digest: `sha256:${createHash('sha256').update(folder.wasm).digest('hex')}`,
      sizeBytes: folder.wasm.length,
      signed: signature !== undefined,
      token: config.token ? `set${config.profile ? ` (profile ${config.profile})` : ''}` : 'NOT SET',
    },
    notChecked: [
      'whether this version is already published with other bytes (REGISTRY.VERSION_EXISTS)',
      'whether your token may publish this plugin (the tenant\'s policy)',
      'the platform\'s caps on storage quotas and module size',
      'whether the signature verifies against the tenant\'s trusted keys (each environment judges it at install)',
    ],
  });
}

// The checks the platform runs for an installation change, in its order (DRY_RUN_CHECKS in contracts).
const INSTALLATION_CHECKS = ['authorisation', 'decision', 'signature'] as const;

/**
 * `plugin install|upgrade|rollback --dry-run`: the platform's own dry run, which runs every check the
 * command runs (policy, the decider with rollback protection, the signature in the environment's mode)
 * and changes nothing. Prints the verdict of each check; a refusal exits 1.
 */
export async function dryRunInstallation(context: CommandContext, request: InstallationDryRunRequest): Promise<void> {
  const title = `dry run of plugin ${request.action} ${request.name}@${request.version} in ${request.environment} (nothing was changed)`;
  let reply: InstallationDryRunReply;
  try {
    reply = await context.api().dryRunInstallation(request);
  } catch (error) {
    // Only the platform's dry run marks its refusals; anything else (no token, a bad request, no answer) is an error as usual.
    if (!(error instanceof ForgeOneError) || error.details?.['dryRun'] !== true) throw error;
    const failed = INSTALLATION_CHECKS.indexOf(error.details['failedCheck'] as (typeof INSTALLATION_CHECKS)[number]);
    const checks = INSTALLATION_CHECKS.map((check, i) => ({
      check,
      verdict: i < failed ? 'ok' : i === failed ? 'FAIL' : 'not reached',
      message: i < failed ? 'passed' : i === failed ? `${error.message} (${error.code})` : 'not run, since an earlier check failed',
    }));
    const body = { dryRun: true, wouldSucceed: false, checks, error: { code: error.code, message: error.message, details: error.details } };
    context.print(body, () => `${title}: the platform would refuse it\n${checks.map((c) => `  ${c.verdict.padEnd(4)}  ${c.check}: ${cleanCell(c.message)}`).join('\n')}\n`);
    context.setExitCode(1);
    return;
  }
  context.print(reply, () => {
    const checks = reply.checks.map((c) => {
      const verdict = c.check === 'signature' && reply.signature.flagged ? 'FLAG' : c.ok ? 'ok' : 'FAIL';
      return `  ${verdict.padEnd(4)}  ${c.check}: ${cleanCell(c.message)}`;
    });
    return `${title}: it would succeed\n${checks.join('\n')}\n`;
  });
}
