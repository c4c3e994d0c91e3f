import { describe, expect, it } from 'vitest';
import { eventLabel, formatBytes, formatTable, formatTime, shortDigest } from './table.js';

describe('formatTable', () => {
  it('aligns columns to the widest cell with two spaces between and no trailing blanks', () => {
    const text = formatTable(
      ['NAME', 'VERSION', 'STATUS'],
      [
        ['acme/pii-redactor', '1.4.2', 'active'],
        ['forgeone/hello', '10.0.0-rc.1', ''],
      ],
    );
    expect(text).toBe(
      [
        'NAME               VERSION      STATUS',
        'acme/pii-redactor  1.4.2        active',
        'forgeone/hello     10.0.0-rc.1  -',
        '',
      ].join('\n'),
    );
  });

  it('prints only the header for no rows', () => {
    expect(formatTable(['A', 'B'], [])).toBe('A  B\n');
  });

  it('shows missing cells as "-" and neutralises control characters from the server', () => {
    expect(formatTable(['A', 'B'], [[undefined, 'x\u001b[31my\nz']])).toBe('A  B\n-  x [31my z\n');
  });
});

describe('small formatters', () => {
  it('shortens sha256 digests to 12 hex digits', () => {
    expect(shortDigest(`sha256:${'ab'.repeat(32)}`)).toBe('sha256:abababababab…');
    expect(shortDigest(undefined)).toBe('-');
    expect(shortDigest('md5:xyz')).toBe('md5:xyz');
  });

  it('formats sizes, times and event types', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MiB');
    expect(formatTime('2026-11-27T11:54:33.123Z')).toBe('2026-11-27T11:54:33Z');
    expect(eventLabel('io.forgeone.plugin.version_published.v1')).toBe('plugin.version_published');
  });
});
