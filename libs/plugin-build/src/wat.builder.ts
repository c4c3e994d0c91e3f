import { readFile } from 'node:fs/promises';
import type wabtInit from 'wabt';

let wabtPromise: ReturnType<typeof wabtInit> | undefined;

/** Assembles a WebAssembly text file with wabt; `shownName` appears in its error messages. */
export async function buildWat(source: string, shownName: string = source): Promise<Uint8Array> {
  // Loaded on first use: a CLI run that builds no WAT does not pay for wabt.
  wabtPromise ??= import('wabt').then(({ default: init }) => init());
  const wabt = await wabtPromise;
  const parsed = wabt.parseWat(shownName, await readFile(source, 'utf8'));
  try {
    parsed.resolveNames();
    parsed.validate();
    return new Uint8Array(parsed.toBinary({}).buffer);
  } finally {
    parsed.destroy();
  }
}
