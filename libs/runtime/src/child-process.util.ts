import type { ChildProcess } from 'node:child_process';

/** True while the child has started and has neither exited nor been killed. */
export function isRunning(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

/** Resolves when the child has exited (immediately if it already has). */
export function whenExited(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return Promise.resolve();
  return new Promise((resolveExit) => child.once('exit', () => resolveExit()));
}

/**
 * Sends SIGTERM, waits up to `graceMs` for the child to exit, then SIGKILLs it.
 * Resolves once the child is gone.
 */
export async function stopChildProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (!isRunning(child)) return;
  const exited = whenExited(child);
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout('timeout'), graceMs);
  });
  const outcome = await Promise.race([exited.then(() => 'exited' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout' && isRunning(child)) {
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Detached children survive their parent; this kills one when the parent exits for any reason
 * (even an uncaught error). Returns a function that removes the hook.
 */
export function killOnParentExit(child: ChildProcess): () => void {
  const hook = () => {
    if (isRunning(child)) child.kill('SIGKILL');
  };
  process.on('exit', hook);
  return () => process.removeListener('exit', hook);
}
