import type { Command } from 'commander';
import { UsageError } from '../cli.errors.js';
import type { CommandContext } from '../command.context.js';
import { COMPLETION_SHELLS, completionScript, type CompletionShell } from '../completion.generator.js';

/** `forgeone completion bash|zsh|fish`: prints a completion script built from this program. */
export function registerCompletionCommand(program: Command, context: CommandContext): void {
  program
    .command('completion')
    .description('print a shell completion script for bash, zsh or fish')
    .argument('<shell>', COMPLETION_SHELLS.join(', '))
    .action((shell: string) => {
      if (!(COMPLETION_SHELLS as readonly string[]).includes(shell)) throw new UsageError(`"${shell}" is not a supported shell: use ${COMPLETION_SHELLS.join(', ')}`);
      const script = completionScript(program, shell as CompletionShell);
      context.print({ shell, script }, () => script);
    });
}
