// What every PostgreSQL of the suite shares, container or spawned: the handle's shape, readiness,
// the settings that trade durability for speed, and reading back what the persist stage wrote.
import pg from 'pg';

export interface PostgresDeployment {
  readonly url: string;
  /** Fast shutdown (clients are disconnected); the data stays. */
  stop(): Promise<void>;
  /** Start again after stop(), same URL; resolves when it accepts connections. */
  start(): Promise<void>;
  /** Remove it and its data. */
  close(): Promise<void>;
}

// Durability off: this data dies with the test run.
export const FAST_SETTINGS = ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off'];

export async function waitForPostgres(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL at ${url.replace(/:[^:@/]*@/, ':***@')} not ready: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** Rows of conversation_items for some sessions, in each session's order. */
export async function conversationRows(url: string, schema: string, sessionIds: readonly string[]): Promise<Array<{ item_id: string; session_id: string; tenant_id: string; role: string | null; position: number; transcript: string | null }>> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    const r = await client.query(
      `select item_id, session_id, tenant_id, role, position, transcript from "${schema}".conversation_items where session_id = any($1) order by session_id, position`,
      [sessionIds],
    );
    return r.rows;
  } finally {
    await client.end();
  }
}
