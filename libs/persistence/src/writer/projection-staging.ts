import type { EntityManager, EntitySchema, ObjectLiteral } from 'typeorm';
import type { TableProjection } from '../projections/table-projection.types.js';

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
/** Rows (or keys) a statement takes: far below PostgreSQL's 65,535 parameters for any projection's width. */
const CHUNK = 500;

type Key = Record<string, unknown>;

/** How one read-model table is read and written in bulk. */
interface RowStore<Row> {
  readonly name: string;
  load(manager: EntityManager, keys: readonly Key[]): Promise<Row[]>;
  upsert(manager: EntityManager, rows: readonly Row[], keyColumns: readonly string[]): Promise<void>;
  remove(manager: EntityManager, key: Key): Promise<void>;
}

interface Slot<Row> {
  readonly key: Key;
  /** What the table held when the transaction read it. */
  readonly initial: Row | null;
  /** The row after the events folded so far (null: none, or deleted). */
  current: Row | null;
}

class StagedTable<Row extends ObjectLiteral> {
  private readonly slots = new Map<string, Slot<Row>>();
  private keyColumns: readonly string[] | undefined;

  constructor(private readonly store: RowStore<Row>) {}

  /** Reads, in as few statements as the chunking allows, the rows of the keys not yet staged. */
  async load(manager: EntityManager, keys: readonly Key[]): Promise<void> {
    const wanted = new Map<string, Key>();
    for (const key of keys) {
      const id = this.idOf(key);
      if (!this.slots.has(id)) wanted.set(id, key);
    }
    if (wanted.size === 0) return;
    const list = [...wanted.values()];
    for (let start = 0; start < list.length; start += CHUNK) {
      const chunk = list.slice(start, start + CHUNK);
      const found = new Map<string, Row>();
      for (const row of await this.store.load(manager, chunk)) {
        const id = this.idOf(row as Key);
        // A row for a key nobody asked for means keys and rows are written differently: writing on would
        // fold events into a row that is not there, so the batch fails (and is retried) instead.
        if (!wanted.has(id) || found.has(id)) throw new Error(`projection ${this.store.name}: reading the batch's rows answered a row whose key was not asked for (${id})`);
        found.set(id, row);
      }
      for (const key of chunk) {
        const id = this.idOf(key);
        const row = found.get(id) ?? null;
        this.slots.set(id, { key, initial: row, current: row });
      }
    }
  }

  /** The slot of `key`, read first if it was not staged. */
  async slot(manager: EntityManager, key: Key): Promise<Slot<Row>> {
    const id = this.idOf(key);
    if (!this.slots.has(id)) await this.load(manager, [key]);
    return this.slots.get(id)!;
  }

  /** Writes the rows that changed: one upsert per chunk, a delete per removed row (rare). */
  async flush(manager: EntityManager): Promise<void> {
    const upserts: Row[] = [];
    for (const slot of this.slots.values()) {
      if (slot.current === slot.initial) continue;
      if (slot.current === null) await this.store.remove(manager, slot.key);
      else upserts.push(slot.current);
    }
    for (let start = 0; start < upserts.length; start += CHUNK) await this.store.upsert(manager, upserts.slice(start, start + CHUNK), this.keyColumns!);
    this.slots.clear();
  }

  private idOf(key: Key): string {
    this.keyColumns ??= Object.keys(key);
    // Key values are strings, numbers or day strings in both keyOf and the rows read back (fromDb, entities).
    return JSON.stringify(this.keyColumns.map((c) => (key[c] === null || key[c] === undefined ? null : String(key[c]))));
  }
}

/**
 * The read-model rows one projector transaction touches, read once and written once: before a
 * batch is folded, every row its events name is read (a statement per table and 500 keys), the
 * events are folded into them in memory in stream order (the same `evolve(row | null, event)` as
 * one by one), and before the checkpoint moves the rows that changed are written back (a multi-row
 * upsert per table, a delete per removed row). Inside the transaction nothing reads these tables
 * other than through it, and the checkpoint lock keeps every other writer out, so the rows written
 * are those folding event by event would leave. It lives and dies with its transaction.
 */
export class ProjectionStaging {
  private readonly tables = new Map<string, StagedTable<ObjectLiteral>>();

  /** Reads the rows of `keys` of an entity table (TypeORM) into the staging. */
  async loadEntities<Row extends ObjectLiteral>(manager: EntityManager, name: string, entity: EntitySchema<Row>, keys: readonly Key[]): Promise<void> {
    await this.entityTable(manager, name, entity).load(manager, keys);
  }

  /** Reads the rows of `keys` of a table projection into the staging. */
  async loadTable<Row extends Record<string, unknown>>(manager: EntityManager, projection: TableProjection<Row>, keys: readonly Key[]): Promise<void> {
    await this.table(projection).load(manager, keys);
  }

  /** Folds `evolve` into the staged row of `key` of an entity table. */
  async foldEntity<Row extends ObjectLiteral>(manager: EntityManager, name: string, entity: EntitySchema<Row>, key: Key, evolve: (row: Row | null) => Row | null): Promise<void> {
    const slot = await this.entityTable(manager, name, entity).slot(manager, key);
    slot.current = evolve(slot.current as Row | null);
  }

  /** Folds `evolve` into the staged row of `key` of a table projection. */
  async foldTable<Row extends Record<string, unknown>>(manager: EntityManager, projection: TableProjection<Row>, key: Key, evolve: (row: Row | null) => Row | null): Promise<void> {
    const slot = await this.table(projection).slot(manager, key);
    slot.current = evolve(slot.current as Row | null);
  }

  /** Writes every changed row, table by table in the order they were first touched. */
  async flush(manager: EntityManager): Promise<void> {
    for (const table of this.tables.values()) await table.flush(manager);
  }

  private entityTable<Row extends ObjectLiteral>(manager: EntityManager, name: string, entity: EntitySchema<Row>): StagedTable<ObjectLiteral> {
    let table = this.tables.get(`entity:${name}`);
    if (!table) {
      table = new StagedTable<ObjectLiteral>(entityStore(name, entity, manager) as RowStore<ObjectLiteral>);
      this.tables.set(`entity:${name}`, table);
    }
    return table;
  }

  private table<Row extends Record<string, unknown>>(projection: TableProjection<Row>): StagedTable<ObjectLiteral> {
    let table = this.tables.get(`table:${projection.table}`);
    if (!table) {
      table = new StagedTable<ObjectLiteral>(tableStore(projection) as RowStore<ObjectLiteral>);
      this.tables.set(`table:${projection.table}`, table);
    }
    return table;
  }
}

/**
 * Reads and writes an entity's table with plain SQL built from its TypeORM metadata (column names,
 * jsonb, transformers), hydrating rows as TypeORM does. Hand-written because TypeORM's query builder
 * rewrites its named parameters over the whole statement for each one: with multi-row upserts of a
 * batch it was the largest CPU cost left in the projector's profile.
 */
function entityStore<Row extends ObjectLiteral>(name: string, entity: EntitySchema<Row>, manager: EntityManager): RowStore<Row> {
  const metadata = manager.connection.getMetadata(entity);
  const columns = metadata.columns.map((c) => ({ property: c.propertyName, column: c.databaseName, json: c.type === 'jsonb' || c.type === 'json', transformers: c.transformer === undefined ? [] : [c.transformer].flat() }));
  const byProperty = new Map(columns.map((c) => [c.property, c]));
  const columnOf = (property: string) => {
    const c = byProperty.get(property);
    if (!c) throw new Error(`projection ${name}: "${property}" is not a column of ${metadata.tableName}`);
    return c;
  };
  return sqlStore<Row>({
    name,
    table: metadata.tableName,
    toDb: (row) => {
      const out: Record<string, unknown> = {};
      for (const [property, value] of Object.entries(row)) {
        if (value === undefined) continue;
        const c = columnOf(property);
        const stored = c.transformers.reduce((v, t) => t.to(v), value as unknown);
        out[c.column] = c.json && stored !== null ? JSON.stringify(stored) : stored;
      }
      return out;
    },
    keyToDb: (key) => Object.fromEntries(Object.entries(key).map(([property, value]) => [columnOf(property).column, value])),
    fromDb: (raw) => {
      const row: Record<string, unknown> = {};
      for (const c of columns) {
        if (!(c.column in raw)) continue;
        const value = raw[c.column];
        row[c.property] = c.transformers.reduceRight((v, t) => t.from(v), c.json && typeof value === 'string' ? JSON.parse(value) : value);
      }
      return row as Row;
    },
  });
}

function tableStore<Row extends Record<string, unknown>>(projection: TableProjection<Row>): RowStore<Row> {
  return sqlStore<Row>({
    name: projection.name,
    table: projection.table,
    // jsonb columns take objects as JSON text (pg would send an array as a Postgres array).
    toDb: (row) => Object.fromEntries(Object.entries(row).map(([c, v]) => [c, v !== null && typeof v === 'object' ? JSON.stringify(v) : v])),
    keyToDb: (key) => key,
    fromDb: (raw) => projection.fromDb(raw),
  });
}

/** Column types by table, read from the catalog once per data source (migrations change them only between starts). */
const COLUMN_TYPES = new WeakMap<object, Map<string, Promise<Map<string, string>>>>();

function columnTypes(manager: EntityManager, table: string): Promise<Map<string, string>> {
  let tables = COLUMN_TYPES.get(manager.connection);
  if (!tables) COLUMN_TYPES.set(manager.connection, (tables = new Map()));
  let types = tables.get(table);
  if (!types) {
    types = manager
      .query(`SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`, [table])
      .then((rows: { name: string; type: string }[]) => new Map(rows.map((r) => [r.name, r.type])));
    types.catch(() => tables!.delete(table));
    tables.set(table, types);
  }
  return types;
}

/** A column type an upsert can take as a typed array of its values: named, no array, no modifier. */
const SCALAR_TYPE = /^[a-z][a-z0-9 _]*$/;

function typeOf(types: Map<string, string>, mapping: { readonly name: string; readonly table: string }, column: string): string {
  const type = types.get(column);
  if (!type || !/^[a-z][a-z0-9 _]*$/.test(type)) throw new Error(`projection ${mapping.name}: key column ${column} of ${mapping.table} has no plain type (${type})`);
  return type;
}

interface SqlMapping<Row> {
  readonly name: string;
  readonly table: string;
  /** The row as column → value, ready for pg. */
  toDb(row: Row): Record<string, unknown>;
  keyToDb(key: Key): Record<string, unknown>;
  fromDb(raw: Record<string, unknown>): Row;
}

function sqlStore<Row>(mapping: SqlMapping<Row>): RowStore<Row> {
  const identifiers = (names: readonly string[]) => {
    for (const c of names) if (!IDENTIFIER.test(c)) throw new Error(`projection ${mapping.name}: "${c}" is not a plain identifier`);
  };
  identifiers([mapping.table]);
  const whereOf = (columns: readonly string[], offset: number) => columns.map((c, i) => `${c} = $${offset + i + 1}`).join(' AND ');
  return {
    name: mapping.name,
    async load(manager, keys) {
      const dbKeys = keys.map((key) => mapping.keyToDb(key));
      const columns = Object.keys(dbKeys[0]);
      identifiers(columns);
      const types = await columnTypes(manager, mapping.table);
      const arrays = columns.map((c, i) => `$${i + 1}::${typeOf(types, mapping, c)}[]`);
      // A join on typed key arrays: planning and execution stay flat in the number of keys, where
      // an OR of one condition per key cost PostgreSQL ~100 ms a batch to plan.
      const raw: Record<string, unknown>[] = await manager.query(
        `SELECT t.* FROM ${mapping.table} t JOIN unnest(${arrays.join(', ')}) AS k(${columns.join(', ')}) ON ${columns.map((c) => `t.${c} = k.${c}`).join(' AND ')} FOR UPDATE OF t`,
        columns.map((c) => dbKeys.map((key) => key[c])),
      );
      return raw.map((r) => mapping.fromDb(r));
    },
    async upsert(manager, rows, keyProperties) {
      const keyColumns = Object.keys(mapping.keyToDb(Object.fromEntries(keyProperties.map((p) => [p, null]))));
      // Rows of one projection may differ in their columns (a notice's kinds): one statement per shape.
      const shapes = new Map<string, Record<string, unknown>[]>();
      for (const row of rows) {
        const values = mapping.toDb(row);
        const shape = Object.keys(values).join(',');
        shapes.set(shape, [...(shapes.get(shape) ?? []), values]);
      }
      const types = await columnTypes(manager, mapping.table);
      for (const [shape, group] of shapes) {
        const columns = shape.split(',');
        identifiers([...columns, ...keyColumns]);
        const updates = columns.filter((c) => !keyColumns.includes(c)).map((c) => `${c} = EXCLUDED.${c}`);
        const conflict = `ON CONFLICT (${keyColumns.join(', ')}) ${updates.length > 0 ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING'}`;
        const scalarTypes = columns.map((c) => types.get(c));
        if (scalarTypes.every((type) => type !== undefined && SCALAR_TYPE.test(type))) {
          // One typed array per column: a plan whatever the number of rows, where a VALUES list of a
          // parameter per cell cost PostgreSQL more to parse and plan than to write the rows.
          await manager.query(
            `INSERT INTO ${mapping.table} (${columns.join(', ')}) SELECT * FROM unnest(${scalarTypes.map((type, c) => `$${c + 1}::${type}[]`).join(', ')}) ${conflict}`,
            columns.map((c) => group.map((values) => values[c])),
          );
          continue;
        }
        // An array column (an array of arrays would not unnest by row): a VALUES list.
        const tuples = group.map((_, r) => `(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(', ')})`);
        await manager.query(
          `INSERT INTO ${mapping.table} (${columns.join(', ')}) VALUES ${tuples.join(', ')} ${conflict}`,
          group.flatMap((values) => columns.map((c) => values[c])),
        );
      }
    },
    async remove(manager, key) {
      const dbKey = mapping.keyToDb(key);
      const columns = Object.keys(dbKey);
      identifiers(columns);
      await manager.query(`DELETE FROM ${mapping.table} WHERE ${whereOf(columns, 0)}`, columns.map((c) => dbKey[c]));
    },
  };
}
