// Owns the database migrations, kept in code (no migration folder to ship or
// find at runtime) and run through kysely's Migrator, which records what ran in
// kysely_migration and takes a lock so concurrent starters don't race.
import { Migrator, sql, type Kysely, type Migration } from 'kysely';

export type { DatabaseSchema, ItemType } from './database-schema.ts';

// Migrations take Kysely<any> on purpose: they describe the schema as it was
// at that point in history, not the current DatabaseSchema typing.
/** Names sort lexically in run order; never rename or edit one that has shipped. */
export const migrations: Record<string, Migration> = {
  '0001_conversations': {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('sessions')
        .addColumn('session_id', 'text', (col) => col.primaryKey())
        .addColumn('tenant_id', 'text', (col) => col.notNull())
        .addColumn('model', 'text')
        .addColumn('created_at', 'timestamptz', (col) => col.notNull())
        .addColumn('closed_at', 'timestamptz')
        .addColumn('close_reason', 'text')
        .execute();

      await db.schema
        .createTable('conversation_items')
        .addColumn('item_id', 'text', (col) => col.primaryKey())
        .addColumn('session_id', 'text', (col) => col.notNull())
        .addColumn('tenant_id', 'text', (col) => col.notNull())
        .addColumn('position', 'double precision', (col) => col.notNull())
        .addColumn('type', 'text', (col) => col.notNull())
        .addColumn('role', 'text')
        .addColumn('status', 'text', (col) => col.notNull())
        .addColumn('content', 'jsonb', (col) => col.notNull().defaultTo(sql`'[]'::jsonb`))
        .addColumn('transcript', 'text')
        .addColumn('call_id', 'text')
        .addColumn('name', 'text')
        .addColumn('arguments', 'text')
        .addColumn('output', 'text')
        .addColumn('version', 'integer', (col) => col.notNull())
        .addColumn('created_at', 'timestamptz', (col) => col.notNull())
        .addColumn('updated_at', 'timestamptz', (col) => col.notNull())
        .addColumn('deleted_at', 'timestamptz')
        .execute();

      await db.schema
        .createIndex('conversation_items_session_position_idx')
        .on('conversation_items')
        .columns(['session_id', 'position'])
        .execute();
      await db.schema
        .createIndex('conversation_items_tenant_created_idx')
        .on('conversation_items')
        .columns(['tenant_id', 'created_at'])
        .execute();
    },
    async down(db: Kysely<any>): Promise<void> {
      await db.schema.dropTable('conversation_items').execute();
      await db.schema.dropTable('sessions').execute();
    },
  },
};

/**
 * Applies every pending migration; a no-op when the database is current.
 * `schema` must be given when the connection's search_path is a private schema:
 * without it kysely looks for its bookkeeping table in *any* schema, finds
 * another tenant's/test's copy, and then fails to query its own.
 */
export async function migrateToLatest(db: Kysely<any>, schema?: string): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName;
    const where = failed ? ` in ${failed}` : '';
    throw new Error(`database migration failed${where}: ${describeError(error)}`, { cause: error });
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
