// Owns opening the conversation database: a PostgreSQL pool when a URL is
// configured, otherwise an embedded PGlite (on disk or in memory). Either way
// the schema is migrated before the handle is returned.
import { PGlite } from '@electric-sql/pglite';
import { CompiledQuery, Kysely, PostgresDialect, sql, type DatabaseConnection, type Dialect } from 'kysely';
import pg from 'pg';
import { migrateToLatest, type DatabaseSchema } from './migrations.ts';
import { PGliteDialect } from './pglite-dialect.ts';

export interface OpenDatabaseOptions {
  /** postgres:// URL; when absent, PGlite is used. */
  url?: string;
  /** PGlite data directory; in memory when absent. Ignored with `url`. */
  dataDir?: string;
  /** Max pooled PostgreSQL connections (default 10). Ignored for PGlite (one session). */
  poolSize?: number;
  /** Private schema (created if missing) every connection works in; used for test isolation. */
  schema?: string;
}

export interface ConversationDatabase {
  db: Kysely<DatabaseSchema>;
  kind: 'postgres' | 'pglite';
  /** Waits for in-flight work, then releases the pool / closes PGlite. */
  close(): Promise<void>;
  /** Round-trips a trivial query; rejects when the database is unreachable. */
  ping(): Promise<void>;
}

const DEFAULT_POOL_SIZE = 10;
const UNIQUE_VIOLATION = '23505';
const DUPLICATE_SCHEMA = '42P06';
// Interpolated into SET search_path, so only plain identifiers are accepted.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openDatabase(opts: OpenDatabaseOptions = {}): Promise<ConversationDatabase> {
  const { schema } = opts;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new Error(`invalid schema name ${JSON.stringify(schema)}: use lowercase letters, digits and _`);
  }
  const onCreateConnection =
    schema === undefined ? undefined : (connection: DatabaseConnection) => useSchema(connection, schema);
  const kind = opts.url ? 'postgres' : 'pglite';
  const dialect = opts.url
    ? postgresDialect(opts.url, opts.poolSize ?? DEFAULT_POOL_SIZE, onCreateConnection)
    : pgliteDialect(opts.dataDir, onCreateConnection);
  const db = new Kysely<DatabaseSchema>({ dialect });

  try {
    // Fails fast with the driver's own error (e.g. ECONNREFUSED) instead of one
    // wrapped as a migration failure.
    await sql`select 1`.execute(db);
    if (schema !== undefined) await createSchemaIfMissing(db, schema);
    await migrateToLatest(db, schema);
  } catch (error) {
    await db.destroy();
    throw error;
  }

  return {
    db,
    kind,
    close: () => db.destroy(),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
  };
}

// CREATE SCHEMA IF NOT EXISTS is not race-free: two starters can both see it
// missing and the loser fails on pg_namespace's unique index. Losing that race
// means the schema exists, which is all we wanted.
async function createSchemaIfMissing(db: Kysely<DatabaseSchema>, schema: string): Promise<void> {
  try {
    await db.schema.createSchema(schema).ifNotExists().execute();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== UNIQUE_VIOLATION && code !== DUPLICATE_SCHEMA) throw error;
  }
}

async function useSchema(connection: DatabaseConnection, schema: string): Promise<void> {
  await connection.executeQuery(CompiledQuery.raw(`set search_path to "${schema}"`));
}

function postgresDialect(
  url: string,
  poolSize: number,
  onCreateConnection: ((connection: DatabaseConnection) => Promise<void>) | undefined,
): Dialect {
  if (!Number.isInteger(poolSize) || poolSize < 1) {
    throw new Error(`poolSize must be a positive integer, got ${poolSize}`);
  }
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client that dies (server restart, network blip) is emitted here and
  // discarded by the pool; without a listener Node would crash the process. The
  // next checkout opens a fresh connection, and a real outage surfaces as a
  // query error to whoever is writing.
  pool.on('error', () => {});
  return new PostgresDialect({ pool, ...(onCreateConnection ? { onCreateConnection } : {}) });
}

function pgliteDialect(
  dataDir: string | undefined,
  onCreateConnection: ((connection: DatabaseConnection) => Promise<void>) | undefined,
): Dialect {
  return new PGliteDialect({
    pglite: () => (dataDir === undefined ? PGlite.create() : PGlite.create({ dataDir })),
    ...(onCreateConnection ? { onCreateConnection } : {}),
  });
}
