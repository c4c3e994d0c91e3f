import { createHash } from 'node:crypto';
import { describePrivateEgress, ForgeOneError, PluginManifestSchema, privateEgressEntries, SIGNATURE_FILE } from '@forgeone/contracts';
import { inspectPluginModule } from '@forgeone/plugin-abi';
import { checkEnvelopeStructure } from '@forgeone/signing';
import semver from 'semver';
import type { PluginDetailReply } from '../api-client.js';
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

/**
 * `plugin install|upgrade --dry-run`: the platform has no dry-run command, so this reads the plugin
 * (a query, which changes nothing) and judges what can be judged from it.
 */
export async function dryRunInstallation(context: CommandContext, action: 'install' | 'upgrade', name: string, version: string, environment: string): Promise<void> {
  const config = await context.config();
  let detail: PluginDetailReply | undefined;
  try {
    detail = await context.api().showPlugin(name);
  } catch (error) {
    if (!(error instanceof ForgeOneError) || (error.code !== 'QUERY.NOT_FOUND' && error.code !== 'REGISTRY.PLUGIN_NOT_FOUND')) throw error;
  }
  const checks: DryRunCheck[] = [];
  const published = detail?.versions.find((v) => v.version === version);
  checks.push(
    published
      ? { check: 'version', ok: true, message: `${name}@${version} is published (${published.digest})` }
      : { check: 'version', ok: false, message: detail ? `${name}@${version} is not published; published: ${detail.versions.map((v) => v.version).join(', ')} (REGISTRY.VERSION_NOT_FOUND)` : `${name} is not published, or not visible to you (REGISTRY.PLUGIN_NOT_FOUND)` },
  );
  const installed = detail?.installations.find((i) => i.environment === environment);
  if (action === 'install') {
    checks.push(installed ? { check: 'installation', ok: false, message: `${name} is already installed in ${environment} at ${installed.version}; use plugin upgrade (REGISTRY.ALREADY_INSTALLED)` } : { check: 'installation', ok: true, message: `${name} is not installed in ${environment} yet` });
  } else if (!installed) {
    checks.push({ check: 'installation', ok: false, message: `${name} is not installed in ${environment}; use plugin install (REGISTRY.NOT_INSTALLED)` });
  } else {
    const higher = semver.valid(installed.version) && semver.gt(version, installed.version);
    checks.push(higher ? { check: 'installation', ok: true, message: `${environment} runs ${installed.version}, lower than ${version}` } : { check: 'installation', ok: false, message: `${environment} runs ${installed.version}; ${version} is not higher (REGISTRY.NOT_AN_UPGRADE; plugin rollback goes back)` });
  }
  if (published && !published.signature) {
    checks.push({ check: 'signature', ok: true, message: `${version} is unsigned: a strict environment (production by default) refuses it with SIGNATURE.MISSING` });
  }
  report(context, {
    dryRun: true,
    action: `plugin ${action}`,
    wouldSucceed: checks.every((c) => c.ok),
    checks,
    request: {
      api: action === 'install' ? `POST ${config.apiUrl}/v1/environments/${environment}/installations` : `PUT ${config.apiUrl}/v1/environments/${environment}/installations/${name}`,
      plugin: `${name}@${version}`,
      environment,
    },
    notChecked: [
      'the platform has no dry-run command, so it was asked nothing but to show the plugin',
      `whether your token may ${action} in ${environment} (the tenant's policy)`,
      `rollback protection: the highest version ${environment} ever had, which may be above the current one (REGISTRY.DOWNGRADE_REFUSED)`,
      `whether the signature verifies against the tenant's trusted keys under ${environment}'s signature policy`,
    ],
  });
}
