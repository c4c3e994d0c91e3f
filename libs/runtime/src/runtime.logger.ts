import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** JSON logger of the process that runs the platform (on stdout, or on stderr with `'stderr'`); same line format as the services. */
export function createRuntimeLogger(level = 'info', destination?: DestinationStream | 'stderr'): Logger {
  const options = {
    name: 'runtime',
    level,
    base: { service: 'runtime' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  // Synchronous: the last lines before process.exit must not be lost, and there are few of them.
  if (destination === undefined || destination === 'stderr') return pino(options, pino.destination({ dest: destination === 'stderr' ? 2 : 1, sync: true }));
  return pino(options, destination);
}
