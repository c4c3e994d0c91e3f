import type { ValueTransformer } from 'typeorm';

/** pg returns int8 as a string; sequences and sizes stay far below 2^53, so numbers are safe. */
export const bigintAsNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => {
    if (value === null || value === undefined) return value;
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${value} does not fit a JavaScript number`);
    return n;
  },
};

/** timestamptz comes back as a Date; read models carry ISO-8601 UTC strings. */
export const timestampAsIso: ValueTransformer = {
  to: (value: string | Date | null | undefined) => value,
  from: (value: Date | string | null) => (value === null || value === undefined ? value : new Date(value).toISOString()),
};
