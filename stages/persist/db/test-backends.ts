// Owns the two database backends every persistence test runs against: a real
// PostgreSQL (isolated in its own schema) and an in-memory PGlite. Tests that
// pass on both prove the PGlite dialect behaves like the production driver.
import { acquireTestPostgres } from '../../../test/support/postgres.ts';
import { openDatabase, type ConversationDatabase, type OpenDatabaseOptions } from './database.ts';
import type { ItemRow } from './item-rows.ts';

export interface TestBackend {
  name: 'postgres' | 'pglite';
  /** Options that open this backend's (shared, isolated) database. */
  options: OpenDatabaseOptions;
  /** Removes whatever the backend created (the Postgres schema). */
  dispose(): Promise<void>;
}

export const BACKEND_NAMES = ['postgres', 'pglite'] as const;

export async function createBackend(name: TestBackend['name']): Promise<TestBackend> {
  if (name === 'pglite') return { name, options: {}, dispose: async () => {} };
  const postgres = await acquireTestPostgres();
  return { name, options: { url: postgres.url, schema: postgres.schema, poolSize: 4 }, dispose: postgres.drop };
}

export async function openBackend(backend: TestBackend): Promise<ConversationDatabase> {
  return openDatabase(backend.options);
}

let counter = 0;
/** Unique ids per test so tests sharing one database never see each other's rows. */
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}_${process.pid}_${counter}_${Math.random().toString(36).slice(2, 8)}`;
}

export function makeItem(overrides: Partial<ItemRow> & Pick<ItemRow, 'itemId' | 'sessionId'>): ItemRow {
  const at = new Date('2025-01-01T00:00:00.000Z');
  return {
    tenantId: 'tenant_a',
    position: 1,
    type: 'message',
    role: 'user',
    status: 'completed',
    content: [{ type: 'input_text', text: 'hello' }],
    transcript: null,
    callId: null,
    name: null,
    arguments: null,
    output: null,
    version: 1,
    createdAt: at,
    updatedAt: at,
    deletedAt: null,
    ...overrides,
  };
}
