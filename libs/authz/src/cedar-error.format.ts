import type { DetailedError } from '@cedar-policy/cedar-wasm/nodejs';

/** 1-based line and column of a character offset in `text`. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1].length + 1 };
}

/**
 * Cedar's own message for an error, with where it is and Cedar's hint. `source.text` is the text
 * the user sent; `source.offset` is where the policy Cedar complains about starts in it.
 */
export function describeCedarError(error: DetailedError, source?: { text: string; offset?: number }): string {
  let out = error.message;
  const location = error.sourceLocations?.[0];
  if (location && source) {
    const { line, column } = lineAndColumn(source.text, (source.offset ?? 0) + location.start);
    out += ` (line ${line}, column ${column}${location.label ? `: ${location.label}` : ''})`;
  } else if (location?.label) {
    out += ` (${location.label})`;
  }
  if (error.help) out += `; ${error.help}`;
  for (const related of error.related ?? []) out += `; ${related.message}`;
  return out;
}
