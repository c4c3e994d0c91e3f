import ora from 'ora';

/** A long step shown to a person: a spinner with text, ended by succeed or fail. */
export interface Progress {
  update(text: string): void;
  succeed(text?: string): void;
  fail(text?: string): void;
  stop(): void;
}

const SILENT: Progress = { update: () => undefined, succeed: () => undefined, fail: () => undefined, stop: () => undefined };

/**
 * A spinner on `stream` when it is a terminal; nothing when it is piped, redirected or absent
 * (in-process runs, --json), so scripts and logs never see progress output.
 */
export function createProgress(text: string, stream: NodeJS.WriteStream | undefined): Progress {
  // A terminal that reports no width (some ptys) would make ora clear lines without end.
  if (!stream?.isTTY || !(stream.columns > 0)) return SILENT;
  const spinner = ora({ text, stream, discardStdin: false }).start();
  return {
    update: (next) => void (spinner.text = next),
    succeed: (done) => void spinner.succeed(done),
    fail: (failed) => void spinner.fail(failed),
    stop: () => void spinner.stop(),
  };
}
