// Server-supplied text must not move the cursor or recolour the terminal.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

export function cleanCell(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  return String(value).replace(CONTROL_CHARACTERS, ' ');
}

/** Left-aligned columns separated by two spaces, a header row first, no trailing blanks. */
export function formatTable(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = rows.map((row) => headers.map((_, i) => cleanCell(row[i])));
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((row) => row[i].length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return `${[headers, ...cells].map(line).join('\n')}\n`;
}

/** `sha256:` and the first 12 hex digits: enough to tell artifacts apart at a glance. */
export function shortDigest(digest: string | undefined | null): string {
  if (!digest) return '-';
  const match = /^(sha256:)([0-9a-f]+)$/.exec(digest);
  if (!match || match[2].length <= 12) return digest;
  return `${match[1]}${match[2].slice(0, 12)}…`;
}

export function formatBytes(bytes: number | undefined | null): string {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes)) return '-';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** ISO timestamps without milliseconds, which only widen the column. */
export function formatTime(iso: string | undefined | null): string {
  if (!iso) return '-';
  return iso.replace(/\.\d+(?=Z|[+-]\d\d:\d\d$)/, '');
}

/** `io.forgeone.plugin.installed.v1` → `plugin.installed`. */
export function eventLabel(type: string): string {
  return type.replace(/^io\.forgeone\./, '').replace(/\.v\d+$/, '');
}
