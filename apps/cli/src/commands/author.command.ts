import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { ForgeOneError, PluginManifestSchema, PluginNameSchema, SIGNATURE_FILE } from '@forgeone/contracts';
import { inspectPluginModule, type PluginModuleInspection } from '@forgeone/plugin-abi';
import { buildPluginFolder, pluginSourceKind, SCAFFOLD_LANGUAGES, scaffoldPlugin, SDK_COPY_DIR, type ScaffoldLanguage } from '@forgeone/plugin-build';
import { runTestsOnPlatform } from './plugin-test-runs.command.js';
import type { HttpFixtures, PluginTestVectorResult } from '@forgeone/sandbox';
import { parsePublicKey, verifyPluginOffline } from '@forgeone/signing';
import type { Command } from 'commander';
import { UsageError } from '../cli.errors.js';
import type { CommandContext } from '../command.context.js';
import { cleanCell, formatBytes, formatTable } from '../format/table.js';
import { MANIFEST_FILE, readPluginFolder, readPluginManifest, WASM_FILE } from '../plugin-folder.reader.js';

const cwdOf = (context: CommandContext) => context.io.cwd ?? process.cwd();
const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

async function readInputFile(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ForgeOneError('COMMAND.INVALID', `${path} does not exist; give ${what}`);
    if (code === 'EISDIR') throw new ForgeOneError('COMMAND.INVALID', `${path} is a folder; give ${what}`);
    throw new ForgeOneError('COMMAND.INVALID', `cannot read ${path}: ${(error as Error).message}`);
  }
}

/** `plugin new|build|test|inspect|verify`: the author's loop on one machine, without a platform. */
export function registerAuthorCommands(plugin: Command, context: CommandContext): void {
  plugin
    .command('new')
    .description(`write a new plugin folder that builds and passes its tests: a greet handler, a manifest with test vectors and a copy of the SDK in ${SDK_COPY_DIR}/`)
    .argument('<name>', 'plugin name as <publisher>/<plugin>, e.g. acme/greeter')
    .requiredOption('--lang <language>', `the language: ${SCAFFOLD_LANGUAGES.join(' or ')}`)
    .option('--dir <dir>', 'the folder to create (default: ./<plugin>)')
    .action(async (name: string, options: { lang: string; dir?: string }) => {
      if (!PluginNameSchema.safeParse(name).success) throw new UsageError(`"${name}" is not a plugin name: write <publisher>/<plugin> in lowercase letters, digits and "-", e.g. acme/greeter`);
      if (!(SCAFFOLD_LANGUAGES as readonly string[]).includes(options.lang)) throw new UsageError(`--lang "${options.lang}" is not supported: use ${SCAFFOLD_LANGUAGES.join(' or ')}`);
      const dir = resolve(cwdOf(context), options.dir ?? name.split('/')[1]);
      let result;
      try {
        result = await scaffoldPlugin({ dir, name, language: options.lang as ScaffoldLanguage });
      } catch (error) {
        throw new ForgeOneError('COMMAND.INVALID', (error as Error).message);
      }
      const shown = relative(cwdOf(context), dir) || '.';
      context.print({ name, language: options.lang, dir, files: result.files }, () =>
        `created ${name} (${options.lang}) in ${dir}\nnext: forgeone plugin build ${shown} && forgeone plugin test --local ${shown}\n`,
      );
    });

  plugin
    .command('build')
    .description(`build a plugin folder's source (Cargo.toml, assembly/index.ts or plugin.wat) into ${WASM_FILE} and check it as publish would`)
    .argument('[dir]', 'the plugin folder', '.')
    .action(async (dir: string) => {
      const folder = resolve(cwdOf(context), dir);
      const manifest = await readPluginManifest(dir, cwdOf(context));
      const kind = pluginSourceKind(folder);
      if (kind === undefined) throw new ForgeOneError('COMMAND.INVALID', `${folder} holds no plugin source to build: expected Cargo.toml (Rust), assembly/index.ts (AssemblyScript) or plugin.wat; forgeone plugin new writes one`);
      const progress = context.progress(`building ${manifest['name']} (${kind})`);
      let wasm: Uint8Array;
      try {
        ({ wasm } = await buildPluginFolder(folder));
      } catch (error) {
        progress.fail();
        throw error;
      }
      const inspection = inspectPluginModule(wasm, { manifest: PluginManifestSchema.parse(manifest), fileName: WASM_FILE });
      await writeFile(join(folder, WASM_FILE), wasm);
      progress.stop();
      const reply = { dir: folder, file: join(folder, WASM_FILE), kind, sizeBytes: wasm.length, digest: sha256(wasm), check: inspection.check };
      context.print(reply, () => `built ${join(folder, WASM_FILE)} (${kind}, ${formatBytes(wasm.length)}, ${reply.digest})\n${checkLine(inspection)}`);
      if (!inspection.check.ok) throw new ForgeOneError(inspection.check.code as 'REGISTRY.WASM_INVALID', `${WASM_FILE} was written but publish would refuse it: ${inspection.check.problems.join('; ')}`, { problems: inspection.check.problems });
    });

  plugin
    .command('test')
    .description(
      "run the manifest's test vectors: with --local in the platform's sandbox on this machine (storage in memory, http only from fixtures); else on the platform, on the digest installed in --env, recorded as a test run compared with the previous version's",
    )
    .argument('[target]', 'the plugin folder with --local (default "."); <publisher>/<plugin>@<version> on a platform')
    .option('--local', 'run here, without a platform')
    .option('--env <env>', 'the environment of a run on a platform, where that version must be installed')
    .option('--http-fixtures <file>', 'JSON answers for the plugin\'s http requests: {"http": [{"method", "url", "status", "headers", "body"}]}')
    .action(async (target: string | undefined, options: { local?: boolean; env?: string; httpFixtures?: string }) => {
      if (!options.local) {
        if (target === undefined || options.env === undefined) {
          throw new UsageError('a run on the platform needs the version and the environment it is installed in: forgeone plugin test <publisher>/<plugin>@<version> --env <env> (or --local [dir] on this machine)');
        }
        if (options.httpFixtures !== undefined) throw new UsageError('--http-fixtures is for --local runs; on the platform the plugin\'s http requests go out as in its calls');
        return runTestsOnPlatform(context, target, options.env);
      }
      if (options.env !== undefined) throw new UsageError('--env is for runs on a platform; --local runs on this machine and takes no environment');
      const cwd = cwdOf(context);
      const folder = await readPluginFolder(target ?? '.', cwd).catch((error: unknown) => {
        if (error instanceof ForgeOneError && error.message.includes(`${WASM_FILE} is missing`)) {
          throw new ForgeOneError('COMMAND.INVALID', `${error.message}; run forgeone plugin build ${target ?? '.'} first`);
        }
        throw error;
      });
      const manifest = PluginManifestSchema.parse(folder.manifest);
      // The sandbox loads only for a local run: every other CLI verb starts without it.
      const { parseHttpFixtures, runPluginTests } = await import('@forgeone/sandbox');
      if (manifest.tests.length === 0) throw new ForgeOneError('PLUGIN.TEST_FAILED', `${MANIFEST_FILE} has no test vectors: add {"handler", "input", "expect"} entries to "tests"`);
      let fixtures: HttpFixtures | undefined;
      if (options.httpFixtures !== undefined) {
        const path = resolve(cwd, options.httpFixtures);
        fixtures = parseHttpFixtures((await readInputFile(path, 'a JSON file of http fixtures')).toString('utf8'), path);
      }
      const progress = context.progress(`running ${manifest.tests.length} test vector(s) of ${manifest.name}`);
      let results: PluginTestVectorResult[];
      try {
        results = await runPluginTests({ manifest, wasm: folder.wasm, ...(fixtures ? { httpFixtures: fixtures } : {}), onResult: (_r, i) => progress.update(`ran ${i + 1} of ${manifest.tests.length} test vector(s)`) });
      } finally {
        progress.stop();
      }
      const failed = results.filter((r) => !r.passed).length;
      context.print({ plugin: `${manifest.name}@${manifest.version}`, passed: results.length - failed, failed, results }, () => renderTestResults(results));
      if (failed > 0) context.setExitCode(1);
    });

  plugin
    .command('inspect')
    .description('show what a plugin module exports and imports, the capabilities its imports need, its memory and limits, size, digest and the ABI check of publish')
    .argument('<target>', `a plugin folder (${MANIFEST_FILE} and ${WASM_FILE}) or a .wasm file`)
    .action(async (target: string) => {
      const path = resolve(cwdOf(context), target);
      const info = await stat(path).catch(() => {
        throw new ForgeOneError('COMMAND.INVALID', `${path} does not exist; give a plugin folder or a .wasm file`);
      });
      let wasm: Uint8Array;
      let manifest: ReturnType<typeof PluginManifestSchema.parse> | undefined;
      if (info.isDirectory()) {
        const folder = await readPluginFolder(target, cwdOf(context));
        manifest = PluginManifestSchema.parse(folder.manifest);
        wasm = folder.wasm;
      } else {
        wasm = new Uint8Array(await readInputFile(path, 'a .wasm file'));
      }
      const inspection = inspectPluginModule(wasm, { ...(manifest ? { manifest } : {}), fileName: basename(path) });
      const reply = { file: info.isDirectory() ? join(path, WASM_FILE) : path, digest: sha256(wasm), ...(manifest ? { name: manifest.name, version: manifest.version, limits: manifest.limits } : {}), ...inspection };
      context.print(reply, () => renderInspection(reply, manifest?.limits));
      if (!inspection.check.ok) context.setExitCode(1);
    });

  plugin
    .command('verify')
    .description(`verify a plugin folder's ${SIGNATURE_FILE} offline against its bytes and the given public keys, as the platform does at install`)
    .argument('<dir>', `the plugin folder (${MANIFEST_FILE}, ${WASM_FILE}, ${SIGNATURE_FILE})`)
    .requiredOption('--key <public.pem>', 'a public key you trust (repeat for several)', (value: string, previous: string[] = []) => [...previous, value])
    .option('--threshold <n>', 'distinct trusted keys that must have signed (default 1)')
    .option('--publisher <publisher>', 'the publisher the keys are trusted for (default: the part of the plugin name before "/")')
    .action(async (dir: string, options: { key: string[]; threshold?: string; publisher?: string }) => {
      const cwd = cwdOf(context);
      let threshold: number | undefined;
      if (options.threshold !== undefined) {
        threshold = Number(options.threshold);
        if (!Number.isInteger(threshold) || threshold < 1 || threshold > 16) throw new UsageError(`--threshold "${options.threshold}" must be a whole number from 1 to 16`);
        if (threshold > options.key.length) throw new UsageError(`--threshold ${threshold} needs at least ${threshold} --key files; ${options.key.length} given`);
      }
      const keys = await Promise.all(options.key.map(async (key) => (await readInputFile(resolve(cwd, key), 'a public key file (public.pem from forgeone keys generate)')).toString('utf8')));
      // A key file that is not a key is named before anything else is read.
      options.key.forEach((path, i) => {
        try {
          parsePublicKey(keys[i]);
        } catch (error) {
          throw new ForgeOneError('KEY.INVALID', `${resolve(cwd, path)}: ${(error as Error).message}`);
        }
      });
      const folder = await readPluginFolder(dir, cwd);
      const signaturePath = join(resolve(cwd, dir), SIGNATURE_FILE);
      const envelope = await readFile(signaturePath).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') throw new ForgeOneError('SIGNATURE.MISSING', `${signaturePath} does not exist: the plugin is not signed (forgeone plugin sign)`);
        throw new ForgeOneError('COMMAND.INVALID', `cannot read ${signaturePath}: ${error.message}`);
      });
      const progress = context.progress('verifying the signature');
      const result = verifyPluginOffline({
        envelope: new Uint8Array(envelope),
        wasm: folder.wasm,
        manifest: folder.manifest,
        publicKeysPem: keys,
        ...(options.publisher !== undefined ? { publisher: options.publisher } : {}),
        ...(threshold !== undefined ? { threshold } : {}),
        now: new Date(),
      });
      progress.stop();
      const name = `${String(folder.manifest['name'])}@${String(folder.manifest['version'])}`;
      if (!result.ok) throw new ForgeOneError(result.reason, `${name} does not verify: ${result.message}`, { keyIds: result.keyIds, presentedKeyIds: result.presentedKeyIds });
      const reply = { verified: true, plugin: name, keyIds: result.keyIds, envelopeDigest: result.envelopeDigest, statement: result.statement };
      context.print(reply, () => `verified ${name}: signed by ${result.keyIds.join(', ')} (${result.message})\n`);
    });
}

function checkLine(inspection: PluginModuleInspection): string {
  return inspection.check.ok ? 'ABI check: passed (as publish checks it)\n' : `ABI check: FAILED (${inspection.check.code})\n${inspection.check.problems.map((p) => `  - ${p}\n`).join('')}`;
}

function renderTestResults(results: readonly PluginTestVectorResult[]): string {
  const table = formatTable(
    ['#', 'HANDLER', 'RESULT', 'DURATION', 'FUEL', 'INPUT'],
    results.map((r, i) => [i + 1, r.handler, r.passed ? 'pass' : 'FAIL', `${r.durationMs.toFixed(2)} ms`, r.fuelUsed ?? '-', preview(r.input)]),
  );
  const details = results
    .map((r, i) => {
      if (r.passed && r.notes.length === 0) return '';
      const lines = [`#${i + 1} ${r.handler}(${preview(r.input)}):`];
      if (r.error) lines.push(`  failed: ${cleanCell(r.error.message)} (${r.error.code})`);
      else if (!r.passed) lines.push(`  expected: ${preview(r.expect)}`, `  got:      ${preview(r.output ?? '')}`);
      for (const note of r.notes) lines.push(`  ${note.hook}: ${cleanCell(note.message)}`);
      return `${lines.join('\n')}\n`;
    })
    .join('');
  const failed = results.filter((r) => !r.passed).length;
  const summary = failed === 0 ? `all ${results.length} test vector(s) passed\n` : `${failed} of ${results.length} test vector(s) failed\n`;
  return `${table}${details ? `\n${details}` : ''}${summary}`;
}

function preview(text: string): string {
  const json = JSON.stringify(text);
  return json.length > 40 ? `${json.slice(0, 37)}…"` : json;
}

function renderInspection(
  reply: PluginModuleInspection & { file: string; digest: string; name?: string; version?: string },
  limits: Readonly<Record<string, unknown>> | undefined,
): string {
  const lines = [
    `${reply.name ? `${reply.name}@${reply.version}  ` : ''}${reply.file}`,
    `size      ${formatBytes(reply.sizeBytes)} (${reply.sizeBytes} bytes)`,
    `digest    ${reply.digest}`,
    `abi       ${reply.abi}`,
    `handlers  ${reply.handlers.join(', ') || '-'}`,
    `memory    ${reply.memory ? `${reply.memory.initialPages} page(s) at start, ${reply.memory.maximumPages === undefined ? 'no declared maximum (the sandbox caps it at limits.memoryMiB)' : `at most ${reply.memory.maximumPages} page(s)`}` : 'none exported'}`,
    `start     ${reply.hasStartFunction ? 'a start function (run, metered, for every call)' : 'none'}`,
  ];
  if (limits) lines.push(`limits    ${Object.entries(limits).map(([k, v]) => `${k} ${String(v)}`).join(', ')}`);
  lines.push(`needs     ${reply.requiredCapabilities.join(', ') || 'no capabilities'}${reply.missingCapabilities?.length ? `; NOT GRANTED by the manifest: ${reply.missingCapabilities.join(', ')}` : ''}`);
  const imports = reply.imports.length
    ? formatTable(['IMPORT', 'SIGNATURE', 'CAPABILITY'], reply.imports.map((i) => [`${i.module}.${i.name}`, i.signature ?? i.kind, i.known ? (i.capability ?? 'always allowed') : 'not a host function of ABI v1']))
    : 'no imports\n';
  return `${lines.map(cleanCell).join('\n')}\n\n${imports}\n${checkLine(reply)}`;
}
