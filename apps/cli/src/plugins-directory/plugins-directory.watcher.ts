import { relative, resolve, sep } from 'node:path';
import { watch } from 'chokidar';
import { WATCHER_FOLDER } from './drop-folder.checks.js';
import type { FolderOutcome, PluginsDirectoryReconciler } from './plugins-directory.reconciler.js';

export interface DirectoryWatchOptions {
  readonly dir: string;
  readonly settleMs: number;
  /** Every outcome, one per folder and pass. */
  readonly onOutcome: (outcome: FolderOutcome) => void;
  readonly onError: (error: Error) => void;
}

export interface DirectoryWatch {
  /** Resolves when the first full pass is done. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

// A folder left waiting or failed is looked at again on its own, in case no further file event comes.
const RETRY_MS = 5_000;

/**
 * Watches DIR with chokidar (its own folders and the files directly inside them, never following a
 * link) and hands each changed folder to the reconciler, one at a time. chokidar's awaitWriteFinish
 * holds a file's events back until its size stops changing; the reconciler checks again, over the
 * whole folder, before it reads. The first pass covers every folder, so what changed while nobody
 * watched is seen at start.
 */
export function watchPluginsDirectory(reconciler: PluginsDirectoryReconciler, options: DirectoryWatchOptions): DirectoryWatch {
  const root = resolve(options.dir);
  const own = resolve(root, WATCHER_FOLDER);
  const queued = new Set<string>();
  const retries = new Map<string, NodeJS.Timeout>();
  let draining: Promise<void> = Promise.resolve();
  let closed = false;
  // Folders last reported as held by a gated environment: retried quietly, reported again only once it changes.
  const gated = new Set<string>();
  const report = (outcome: FolderOutcome): void => {
    if (outcome.outcome === 'gated') {
      if (!gated.has(outcome.folder)) options.onOutcome(outcome);
      gated.add(outcome.folder);
    } else {
      gated.delete(outcome.folder);
      options.onOutcome(outcome);
    }
    if (outcome.outcome === 'waiting' || outcome.outcome === 'failed' || outcome.outcome === 'gated') retryLater(outcome.folder);
  };

  const drain = async (): Promise<void> => {
    while (queued.size && !closed) {
      const [name] = queued;
      queued.delete(name!);
      const outcome = await reconciler.reconcileFolder(name!);
      if (!outcome || closed) continue;
      report(outcome);
    }
  };
  const schedule = (name: string): void => {
    if (closed) return;
    queued.add(name);
    draining = draining.then(drain).catch((error: unknown) => options.onError(error as Error));
  };
  const retryLater = (name: string): void => {
    clearTimeout(retries.get(name));
    retries.set(
      name,
      setTimeout(() => {
        retries.delete(name);
        schedule(name);
      }, Math.max(RETRY_MS, options.settleMs * 2)),
    );
  };

  const watcher = watch(root, {
    ignoreInitial: true,
    depth: 1,
    followSymlinks: false,
    ignored: (path: string) => path === own || path.startsWith(own + sep),
    awaitWriteFinish: { stabilityThreshold: options.settleMs, pollInterval: Math.max(20, Math.min(100, Math.floor(options.settleMs / 4))) },
  });
  watcher.on('all', (_event: string, path: string) => {
    const rel = relative(root, path);
    if (!rel || rel === '..' || rel.startsWith(`..${sep}`)) return;
    schedule(rel.split(sep)[0]!);
  });
  watcher.on('error', (error: unknown) => options.onError(error as Error));

  // The first pass runs in the same queue as the events, so two passes never work on one folder at once.
  const ready = new Promise<void>((done) => watcher.once('ready', () => done())).then(() => {
    const pass = draining.then(async () => {
      const outcomes = await reconciler.reconcileAll();
      for (const outcome of outcomes) report(outcome);
    });
    draining = pass.catch((error: unknown) => options.onError(error as Error));
    return pass;
  });

  return {
    ready,
    async close() {
      closed = true;
      for (const timer of retries.values()) clearTimeout(timer);
      await watcher.close();
      await draining;
    },
  };
}
