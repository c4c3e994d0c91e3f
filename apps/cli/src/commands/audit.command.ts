import { appendFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { KeyObject } from 'node:crypto';
import type { ExternalCheckpoint, TransparencyLogReport } from '@forgeone/persistence';
import { EVENT_AUTHORSHIP_ENV, EVIDENCE_FRAMEWORKS, ForgeOneError, names as namesFor, ReportBoundSchema, reportRange, type ErrorCode, type EvidenceFramework } from '@forgeone/contracts';
import { keyIdOf, parsePublicKey, sha256Digest } from '@forgeone/signing';
import type { Command } from 'commander';
import { checkCheckpoint, verifyInclusionReply } from '../audit-proof.verifier.js';
import { ENVELOPE_FILE, MANIFEST_FILE, verifyEvidenceExport } from '../evidence-export.verifier.js';
import type { CommandContext } from '../command.context.js';
import { UsageError } from '../cli.errors.js';
import { DEFAULT_PROFILE, readProfiles, writeProfiles } from '../profile.store.js';
import { formatAuditEntries } from '../format/audit-entries.format.js';
import { parsePluginName } from '../plugin-ref.js';
import { isoTimeMs, spanMs } from '../time-span.js';

interface AuditLogOptions {
  readonly plugin?: string;
  readonly since?: string;
  readonly limit?: string;
  readonly after?: string;
}

// The gateway's page size when no --limit is given (HTTP API v1).
const DEFAULT_PAGE = 100;

/** `--since` takes an ISO 8601 time or a span back from now such as 30m, 24h or 7d. */
export function parseSince(text: string, now: Date): string {
  const span = spanMs(text);
  if (span !== undefined) return new Date(now.getTime() - span).toISOString();
  const time = isoTimeMs(text);
  if (time === undefined) {
    throw new UsageError(`--since "${text}" is not a time: give an ISO 8601 time such as 2026-01-31 or 2026-01-31T09:00:00Z, or a span such as 30m, 24h or 7d`);
  }
  return new Date(time).toISOString();
}

function parsePositiveInteger(text: string, option: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${option} "${text}" must be ${what}`);
  }
  return Number(text);
}

export function registerAuditCommands(program: Command, context: CommandContext): void {
  const audit = program.command('audit').description('read the tamper-evident audit log');

  audit
    .command('log')
    .description('list audit entries in sequence order')
    .option('--plugin <name>', 'only entries about this plugin (<publisher>/<plugin>)')
    .option('--since <time>', 'only entries from this time on: ISO 8601, or a span back from now such as 24h or 7d')
    .option('--limit <n>', `at most n entries (the API's default is ${DEFAULT_PAGE})`)
    .option('--after <sequence>', 'only entries after this sequence number, to page through the log')
    .action(async (options: AuditLogOptions) => {
      const plugin = options.plugin === undefined ? undefined : parsePluginName(options.plugin, '--plugin');
      const since = options.since === undefined ? undefined : parseSince(options.since, new Date());
      const limit = options.limit === undefined ? undefined : parsePositiveInteger(options.limit, '--limit', 'a whole number of entries, 1 or more');
      const after = options.after === undefined ? undefined : String(parsePositiveInteger(options.after, '--after', 'a sequence number, 1 or more'));
      const reply = await context.api().auditLog({
        ...(plugin ? { plugin } : {}),
        ...(since ? { since } : {}),
        ...(limit ? { limit } : {}),
        ...(after ? { after } : {}),
      });
      context.print(reply, () => (reply.entries.length ? formatAuditEntries(reply.entries, { withPlugin: true }) : 'no audit entries match\n'));
      const last = reply.entries.at(-1);
      if (!context.json && last && reply.entries.length >= (limit ?? DEFAULT_PAGE)) {
        context.io.stderr(`more entries may follow: add --after ${last.sequence} for the next page\n`);
      }
    });

  audit
    .command('key')
    .description("show the audit key's fingerprint (the key that signs checkpoints); write its public key with --out, trust it in this profile with --pin")
    .option('--out <file>', 'write the public key (SPKI PEM) to this file')
    .option('--pin', "keep the fingerprint in the profile in use, so audit prove checks checkpoints against it")
    .action(async (options: { out?: string; pin?: boolean }) => {
      const reply = await context.api().auditKey();
      const key = parsePublicKey(reply.publicKeyPem);
      // The fingerprint is computed here, not taken from the reply.
      const keyId = keyIdOf(key);
      if (keyId !== reply.keyId) throw new ForgeOneError('AUDIT.CHECKPOINT_INVALID', `the served audit key has fingerprint ${keyId}, not the stated ${reply.keyId}`);
      let written: string | undefined;
      if (options.out !== undefined) {
        written = resolve(context.io.cwd ?? process.cwd(), options.out);
        await writeFile(written, reply.publicKeyPem, { mode: 0o644, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
          throw new ForgeOneError('COMMAND.INVALID', error.code === 'EEXIST' ? `${written} already exists; choose another --out file` : `cannot write ${written}: ${error.message}`);
        });
      }
      let pinnedIn: string | undefined;
      if (options.pin) pinnedIn = await pinAuditKey(context, keyId);
      context.print({ keyId, origin: reply.origin, publicKeyPem: reply.publicKeyPem, ...(written ? { written } : {}), ...(pinnedIn ? { pinnedIn } : {}) }, () =>
        [`${keyId}  (${reply.origin})`, ...(written ? [`wrote ${written}`] : []), ...(pinnedIn ? [`pinned in profile ${pinnedIn}`] : [])].join('\n') + '\n',
      );
    });

  audit
    .command('checkpoint')
    .description("show the audit log's latest signed checkpoint (or the one of --size); with a pinned key (--key, or audit key --pin) its signature is checked")
    .option('--size <n>', 'the checkpoint of this tree size')
    .option('--key <file>', 'the audit public key (SPKI PEM) to check the signature with')
    .action(async (options: { size?: string; key?: string }) => {
      const size = options.size === undefined ? undefined : parsePositiveInteger(options.size, '--size', 'a tree size, 1 or more');
      const pinned = await pinnedAuditKey(context, options.key);
      const reply = await context.api().auditCheckpoint(size);
      const signature = checkCheckpoint(reply, pinned);
      context.print({ ...reply, signature }, () =>
        [
          `tree size ${reply.treeSize}`,
          `root      ${reply.rootHash}`,
          `signed    ${reply.signedAt} by key ${reply.keyId}`,
          `origin    ${reply.origin}`,
          signature.verified ? `signature verified with key ${signature.keyId}` : `signature NOT checked: ${signature.reason}`,
          '',
          reply.note,
        ].join('\n'),
      );
    });

  audit
    .command('prove')
    .argument('<sequence>', "stream sequence of one of your tenant's audit rows")
    .description('fetch and verify the inclusion proof of an audit row in the latest signed checkpoint; with a pinned key (--key, or audit key --pin) also the checkpoint signature')
    .option('--key <file>', 'the audit public key (SPKI PEM) to check the checkpoint signature with')
    .option('--size <n>', 'prove against the checkpoint of this tree size')
    .action(async (sequenceText: string, options: { key?: string; size?: string }) => {
      const sequence = parsePositiveInteger(sequenceText, '<sequence>', 'a stream sequence number, 1 or more (see forgeone audit log)');
      const size = options.size === undefined ? undefined : parsePositiveInteger(options.size, '--size', 'a tree size, 1 or more');
      const pinned = await pinnedAuditKey(context, options.key);
      const proof = await context.api().auditInclusionProof(sequence, size);
      const report = verifyInclusionReply(sequence, proof, pinned);
      context.print(report, () =>
        [
          `row ${sequence} is leaf ${report.leafIndex} of the checkpoint of tree size ${report.treeSize} (root ${report.rootHash})`,
          report.signature.verified ? `checkpoint signature verified with key ${report.signature.keyId}` : `checkpoint signature NOT checked: ${report.signature.reason}`,
        ].join('\n') + '\n',
      );
    });
  audit
    .command('verify')
    .description(
      'verify the audit log: hash chain, leaves and tenant sequences, every checkpoint with the pinned key and its consistency with the one before, ' +
        'every row against the event stream, and checkpoints you kept (--checkpoint); names the first row or checkpoint that differs and exits 1. ' +
        "With DATABASE_URL set it reads the database (and, with NATS_URL and FORGEONE_NAMESPACE, the stream, checking who wrote each event with the writer keys you pin) itself, an operator's independent check; " +
        'otherwise the platform verifies where it stores the log (POST /v1/audit-log/verify) with the key you pinned',
    )
    .option('--key <file>', 'the audit public key (SPKI PEM) to check checkpoints with; default: the fingerprint pinned in the profile (audit key --pin)')
    .option('--from <sequence>', 'first stream sequence to check (default 1)')
    .option('--to <sequence>', 'last stream sequence to check (default: the last row)')
    .option('--checkpoint <file>', 'a checkpoint kept outside the platform (audit checkpoint --json output); repeat for several', (file: string, files: string[]) => [...files, file], [] as string[])
    .option(
      '--writer-keys <file>',
      `with DATABASE_URL and NATS_URL: the event writers' public keys to check each event's authorship with, as ${EVENT_AUTHORSHIP_ENV.writerKeys} spells them or the data folder's secrets/event-writers.json; default: ${EVENT_AUTHORSHIP_ENV.writerKeys} (cut-over: ${EVENT_AUTHORSHIP_ENV.unsignedUntil}, else the file's)`,
    )
    .action(async (options: { key?: string; from?: string; to?: string; checkpoint: string[]; writerKeys?: string }) => {
      const from = options.from === undefined ? undefined : parsePositiveInteger(options.from, '--from', 'a stream sequence, 1 or more');
      const to = options.to === undefined ? undefined : parsePositiveInteger(options.to, '--to', 'a stream sequence, 1 or more');
      if (from !== undefined && to !== undefined && to < from) throw new UsageError(`--to ${to} is before --from ${from}`);
      const external = await Promise.all(options.checkpoint.map((file) => readKeptCheckpoint(context, file)));
      const publicKey = await pinnedAuditKey(context, options.key);
      if (!publicKey) throw new UsageError('no audit key to check checkpoints with: give --key public.pem, or pin the key once with forgeone audit key --out public.pem --pin');
      const databaseUrl = context.io.env['DATABASE_URL']?.trim();
      const progress = context.progress('verifying the audit log');
      let checked: TransparencyLogReport & { readonly stream: string; readonly where: string; readonly authorship?: AuthorshipPins };
      try {
        if (databaseUrl) {
          checked = await verifyStoredLog(context, databaseUrl, { publicKey, from, to, external, writerKeys: options.writerKeys, onProgress: ({ rows, sequence }) => progress.update(`verifying the audit log: ${rows} rows checked, at sequence ${sequence}`) });
        } else {
          const reply = await context.api().auditVerify({
            publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
            ...(from !== undefined ? { from } : {}),
            ...(to !== undefined ? { to } : {}),
            ...(external.length ? { checkpoints: external } : {}),
          });
          checked = { ...reply, where: 'the platform (POST /v1/audit-log/verify)' };
        }
      } finally {
        progress.stop();
      }
      const report = checked;
      context.print(report, () =>
        report.ok
          ? `audit log verified by ${report.where}: ${report.rows} rows${report.range ? ` (sequences ${report.range.from} to ${report.range.to})` : ''}, ${report.checkpoints} checkpoints, ${report.externalCheckpoints} kept checkpoints; event stream ${report.stream}${report.authorship ? `; authorship checked with writer keys ${Object.entries(report.authorship.writers).map(([writer, id]) => `${writer} ${id.slice(0, 16)}`).join(', ')} (cut-over ${report.authorship.unsignedUntil})` : ''}\n`
          : `audit log NOT verified: ${report.fault!.kind}${report.fault!.sequence !== undefined ? ` at sequence ${report.fault!.sequence}` : ''}${report.fault!.treeSize !== undefined ? ` (checkpoint ${report.fault!.treeSize})` : ''}: ${report.fault!.message}\n`,
      );
      if (!report.ok) context.setExitCode(1);
    });
  audit
    .command('export')
    .description(
      "export evidence of your tenant for one framework and period into a new folder: per control the population of its queries (CSV and JSON), a sample proven against a signed checkpoint and the exceptions, index.html, and manifest.json signed with the audit key (needs export-evidence)",
    )
    .requiredOption('--framework <name>', `the framework: ${EVIDENCE_FRAMEWORKS.join(', ')}`)
    .requiredOption('--from <date>', 'first day (YYYY-MM-DD) or time (ISO 8601) of the period')
    .requiredOption('--to <date>', 'last day (YYYY-MM-DD, included whole) or time of the period')
    .requiredOption('--out <dir>', 'a folder that does not exist yet, or is empty')
    .action(async (options: { framework: string; from: string; to: string; out: string }) => {
      if (!(EVIDENCE_FRAMEWORKS as readonly string[]).includes(options.framework)) {
        throw new UsageError(`--framework "${options.framework}" is not a framework this platform exports: use one of ${EVIDENCE_FRAMEWORKS.join(', ')}`);
      }
      for (const [flag, value] of [['--from', options.from], ['--to', options.to]] as const) {
        if (!ReportBoundSchema.safeParse(value).success) throw new UsageError(`${flag} "${value}" is not a date (YYYY-MM-DD) or an ISO 8601 time with offset`);
      }
      try {
        reportRange(options.from, options.to);
      } catch (error) {
        throw new UsageError((error as Error).message.replace("the report's range", 'the period'));
      }
      const out = resolve(context.io.cwd ?? process.cwd(), options.out);
      const existing = await readdir(out).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw new UsageError(`--out ${options.out}: ${out} cannot be used (${error.code ?? error.message})`);
      });
      if (existing && existing.length > 0) throw new UsageError(`--out ${options.out}: ${out} exists and is not empty; give a new or empty folder, so no evidence is mixed with other files`);
      const created = existing === undefined;
      const progress = context.progress(`exporting ${options.framework} evidence`);
      const folders = new Set<string>();
      let done: { manifest: string; files: number; sequence: number; checkpoint: number } | undefined;
      let started = false;
      let checkpointSize = 0;
      try {
        await context.api().exportEvidence({ framework: options.framework as EvidenceFramework, from: options.from, to: options.to }, async (line) => {
          switch (line.kind) {
            case 'start':
              started = true;
              checkpointSize = line.checkpoint.treeSize;
              await mkdir(out, { recursive: true });
              return;
            case 'file': {
              const target = resolve(out, line.path);
              if (!started || !/^[a-z0-9][a-z0-9._/-]*$/.test(line.path) || line.path.includes('..') || !target.startsWith(out + sep)) {
                throw new ForgeOneError('SERVICE.INTERNAL', `the export named a file outside its folder: ${line.path}`);
              }
              const folder = dirname(target);
              if (!folders.has(folder)) {
                await mkdir(folder, { recursive: true });
                folders.add(folder);
              }
              await appendFile(target, line.data);
              return;
            }
            case 'progress':
              progress.update(`exporting ${options.framework} evidence: ${line.query}, ${line.rows} rows`);
              return;
            case 'done': {
              await writeFile(join(out, MANIFEST_FILE), line.manifest, { flag: 'wx' });
              await writeFile(join(out, ENVELOPE_FILE), `${JSON.stringify(line.envelope, null, 2)}\n`, { flag: 'wx' });
              const manifest = JSON.parse(line.manifest) as { files: unknown[] };
              done = { manifest: sha256Digest(line.manifest), files: manifest.files.length, sequence: line.sequence, checkpoint: checkpointSize };
              return;
            }
            case 'error':
              throw new ForgeOneError(line.error.code as ErrorCode, `the export failed after it began: ${line.error.message}`);
          }
        });
        if (!done) throw new ForgeOneError('SERVICE.UNAVAILABLE', 'the export stream ended before its signed manifest arrived; nothing of it is valid, run the export again');
      } catch (error) {
        progress.fail(`the ${options.framework} export failed`);
        // A partial export is no evidence: take away what this run wrote.
        if (started) await (created ? rm(out, { recursive: true, force: true }) : emptyFolder(out));
        throw error;
      }
      const result = done;
      progress.succeed(`exported ${options.framework} evidence`);
      context.print({ out, framework: options.framework, from: options.from, to: options.to, files: result.files, manifestDigest: result.manifest, checkpointTreeSize: result.checkpoint, recordedAt: result.sequence }, () =>
        [
          `wrote ${result.files} files and the signed manifest to ${out}`,
          `manifest ${result.manifest}, samples proven against the checkpoint of tree size ${result.checkpoint}`,
          `recorded in the audit log at sequence ${result.sequence}`,
          `open ${join(out, 'index.html')}; check it with forgeone audit verify-export ${options.out} --key audit-key.pem`,
        ].join('\n') + '\n',
      );
    });

  audit
    .command('verify-export')
    .argument('<dir>', 'the folder forgeone audit export wrote')
    .description("check an evidence export offline, with the audit public key only: the manifest's signature, every file's sha256, the checkpoint's signature and every sample's inclusion proof; names the first file that fails")
    .requiredOption('--key <file>', 'the audit public key (SPKI PEM), as forgeone audit key --out wrote it')
    .action(async (dirText: string, options: { key: string }) => {
      const key = (await pinnedAuditKey(context, options.key))!;
      const dir = resolve(context.io.cwd ?? process.cwd(), dirText);
      const found = await stat(dir).catch(() => undefined);
      if (!found?.isDirectory()) throw new UsageError(`<dir> ${dirText}: ${dir} is not a folder; give the folder forgeone audit export wrote`);
      const progress = context.progress('verifying the evidence export');
      const report = await verifyEvidenceExport(dir, key, (text) => progress.update(text));
      if (report.ok) progress.succeed('evidence export verified');
      else progress.fail('evidence export NOT verified');
      context.print(report, () =>
        report.ok
          ? `evidence export verified: ${report.framework} of tenant ${report.tenant}, ${report.period!.from} to ${report.period!.before}; ${report.files} files, ${report.proofs} inclusion proofs against the checkpoint of tree size ${report.checkpoint!.treeSize}, signed by key ${report.keyId}\n`
          : `evidence export NOT verified: ${report.failure!.file}: ${report.failure!.reason}\n`,
      );
      if (!report.ok) context.setExitCode(1);
    });
}

async function emptyFolder(dir: string): Promise<void> {
  for (const entry of await readdir(dir)) await rm(join(dir, entry), { recursive: true, force: true });
}

/** Who wrote the events was checked against: each pinned writer key's fingerprint and the cut-over. */
interface AuthorshipPins {
  readonly writers: Record<string, string>;
  readonly unsignedUntil: number;
}

/** Reads the log where it is stored: the database, and the event stream (each message's authorship checked with the pinned writer keys) when NATS_URL is set. */
async function verifyStoredLog(
  context: CommandContext,
  databaseUrl: string,
  options: { publicKey: KeyObject; from: number | undefined; to: number | undefined; external: readonly ExternalCheckpoint[]; writerKeys: string | undefined; onProgress: (p: { rows: number; sequence: number }) => void },
): Promise<TransparencyLogReport & { readonly stream: string; readonly where: string; readonly authorship?: AuthorshipPins }> {
  const natsUrl = context.io.env['NATS_URL']?.trim();
  const names = namesFor(context.io.env['FORGEONE_NAMESPACE']?.trim() ?? '');
  // The stream is compared only with authorship checked, and only with writer keys pinned here, never read from the platform.
  const authorship = natsUrl ? await pinnedWriterKeys(context, names, options.writerKeys) : undefined;
  const { createDataSource, verifyTransparencyLog } = await import('@forgeone/persistence');
  const ds = await createDataSource(databaseUrl, { applicationName: 'forgeone-audit-verify', poolSize: 2 }).initialize();
  let stream: Awaited<ReturnType<typeof import('@forgeone/runtime').openEventStreamReader>> | undefined;
  try {
    if (natsUrl && authorship) {
      const { natsTlsOptions, openEventStreamReader } = await import('@forgeone/runtime');
      const caFile = context.io.env['FORGEONE_NATS_CA_FILE']?.trim();
      stream = await openEventStreamReader(natsUrl, names, natsTlsOptions(caFile ? { caFile } : {}), { authorship });
    }
    const reader = stream;
    const report = await verifyTransparencyLog(ds, {
      publicKey: options.publicKey,
      onProgress: options.onProgress,
      ...(reader ? { stream: (sequence: number) => reader.message(sequence), authorship: true } : {}),
      ...(options.from !== undefined ? { from: options.from } : {}),
      ...(options.to !== undefined ? { to: options.to } : {}),
      ...(options.external.length ? { external: options.external } : {}),
    });
    const { authorshipPins } = await import('@forgeone/runtime');
    return {
      ...report,
      stream: reader ? 'compared' : 'not compared: NATS_URL is not set',
      ...(reader && authorship ? { authorship: authorshipPins(authorship) } : {}),
      where: 'this machine (DATABASE_URL)',
    };
  } finally {
    await stream?.close();
    await ds.destroy();
  }
}

/** The writer keys to check authorship with: --writer-keys FILE, else FORGEONE_EVENT_WRITER_KEYS; neither is a usage error. */
async function pinnedWriterKeys(context: CommandContext, names: ReturnType<typeof namesFor>, file: string | undefined) {
  const { pinnedEventAuthorship } = await import('@forgeone/runtime');
  const unsignedText = context.io.env[EVENT_AUTHORSHIP_ENV.unsignedUntil]?.trim();
  let unsignedUntil: number | undefined;
  if (unsignedText) {
    if (!/^\d+$/.test(unsignedText) || !Number.isSafeInteger(Number(unsignedText))) throw new UsageError(`${EVENT_AUTHORSHIP_ENV.unsignedUntil} "${unsignedText.slice(0, 40)}" must be a stream sequence (0 or more)`);
    unsignedUntil = Number(unsignedText);
  }
  let text: string;
  let what: string;
  if (file !== undefined) {
    const path = resolve(context.io.cwd ?? process.cwd(), file);
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new UsageError(`--writer-keys ${file}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    what = `--writer-keys ${file}`;
  } else {
    const pinned = context.io.env[EVENT_AUTHORSHIP_ENV.writerKeys]?.trim();
    if (!pinned) {
      throw new UsageError(
        `NATS_URL is set, but no event-writer keys are pinned to check who wrote each event: give --writer-keys FILE (the data folder's secrets/event-writers.json, or ${EVENT_AUTHORSHIP_ENV.writerKeys} JSON) or set ${EVENT_AUTHORSHIP_ENV.writerKeys}`,
      );
    }
    text = pinned;
    what = EVENT_AUTHORSHIP_ENV.writerKeys;
  }
  try {
    return pinnedEventAuthorship(names, text, unsignedUntil);
  } catch (error) {
    throw new UsageError(`${what}: ${(error as Error).message}`);
  }
}

/** A checkpoint kept outside the platform: `audit checkpoint --json` output (its origin and signed note are what count). */
async function readKeptCheckpoint(context: CommandContext, file: string): Promise<ExternalCheckpoint> {
  const path = resolve(context.io.cwd ?? process.cwd(), file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--checkpoint ${file}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--checkpoint ${file}: not JSON (${(error as Error).message}); keep the output of forgeone audit checkpoint --json`);
  }
  const { origin, note } = (parsed ?? {}) as { origin?: unknown; note?: unknown };
  if (typeof origin !== 'string' || origin.length === 0 || typeof note !== 'string' || note.length === 0) {
    throw new UsageError(`--checkpoint ${file}: needs the string fields "origin" and "note" of forgeone audit checkpoint --json`);
  }
  return { origin, note };
}

/** The key to check checkpoints with: --key's file, else the profile's pinned fingerprint (the served key must match it), else none. */
async function pinnedAuditKey(context: CommandContext, keyFile: string | undefined): Promise<KeyObject | undefined> {
  if (keyFile !== undefined) {
    const path = resolve(context.io.cwd ?? process.cwd(), keyFile);
    let pem: string;
    try {
      pem = await readFile(path, 'utf8');
    } catch (error) {
      throw new UsageError(`--key ${keyFile}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); get the audit key with forgeone audit key --out <file>`);
    }
    try {
      return parsePublicKey(pem);
    } catch (error) {
      throw new UsageError(`--key ${keyFile}: ${(error as Error).message}`);
    }
  }
  const { auditKeyId } = await context.config();
  if (!auditKeyId) return undefined;
  const served = await context.api().auditKey();
  const key = parsePublicKey(served.publicKeyPem);
  if (keyIdOf(key) !== auditKeyId) {
    throw new ForgeOneError('AUDIT.CHECKPOINT_INVALID', `the audit key served has fingerprint ${keyIdOf(key)}, but this profile pins ${auditKeyId}: the log is signed by another key than the one you trust`);
  }
  return key;
}

async function pinAuditKey(context: CommandContext, keyId: string): Promise<string> {
  const config = await context.config();
  const file = await readProfiles(context.io.env);
  const name = config.profile ?? file.current ?? DEFAULT_PROFILE;
  const profile = file.profiles[name];
  if (!profile) throw new UsageError(`--pin needs a profile to keep the fingerprint in; create one with forgeone login --api <url>`);
  await writeProfiles(context.io.env, { ...file, profiles: { ...file.profiles, [name]: { ...profile, auditKeyId: keyId } } });
  return name;
}
