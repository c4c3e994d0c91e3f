import { EnvironmentSchema, PluginNameSchema, SemverSchema } from '@forgeone/contracts';
import { UsageError } from './cli.errors.js';

export interface PluginRef {
  readonly name: string;
  readonly version: string;
}

const EXAMPLE = 'acme/pii-redactor@1.4.2';

function checkName(name: string, ref: string): void {
  if (PluginNameSchema.safeParse(name).success) return;
  const hint = name.startsWith('@') ? ' (plugin names have no leading "@")' : '';
  throw new UsageError(
    `"${ref}" does not name a plugin: "${name}" must be "<publisher>/<plugin>" in lowercase letters, digits and "-"${hint}, e.g. ${EXAMPLE}`,
  );
}

/**
 * Parses `<publisher>/<plugin>@<version>`. The last "@" separates name and version, since
 * neither may contain one but users do write "@acme/x@1.0.0" by habit.
 */
export function parsePluginRef(ref: string): PluginRef {
  const at = ref.lastIndexOf('@');
  if (at <= 0 || at === ref.length - 1) {
    const problem = at === -1 ? 'has no version' : at === 0 ? 'has no plugin name before "@"' : 'has no version after "@"';
    throw new UsageError(`"${ref}" ${problem}: write <publisher>/<plugin>@<version>, e.g. ${EXAMPLE}`);
  }
  const name = ref.slice(0, at);
  const version = ref.slice(at + 1);
  checkName(name, ref);
  if (!SemverSchema.safeParse(version).success) {
    const hint = /^v\d/.test(version) ? ' (drop the leading "v")' : '';
    throw new UsageError(`"${ref}" has a bad version: "${version}" must be a semantic version such as 1.4.2 or 2.0.0-rc.1${hint}`);
  }
  return { name, version };
}

/** Parses a bare plugin name, for verbs that act on a plugin rather than one of its versions. */
export function parsePluginName(text: string, verb: string): string {
  if (text.includes('@') && !text.startsWith('@')) {
    throw new UsageError(`${verb} takes a plugin name without a version: write "${text.slice(0, text.lastIndexOf('@'))}"`);
  }
  checkName(text, text);
  return text;
}

export function parseEnvironment(text: string): string {
  if (EnvironmentSchema.safeParse(text).success) return text;
  throw new UsageError(`--env "${text}" is not an environment name: use lowercase letters, digits and "-", e.g. staging or production`);
}
