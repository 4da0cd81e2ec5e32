// Owns the kysely Dialect for PGlite (in-process, single-session Postgres).
// PGlite has exactly one backend session, so this driver hands out its one
// connection to one holder at a time: a kysely transaction keeps it from BEGIN
// to COMMIT, and no other query can land inside that transaction. As with a
// pg pool of size 1, code inside a transaction must use the transaction handle:
// a query on the outer Kysely there waits for the connection forever.
import type { PGliteInterface } from '@electric-sql/pglite';
import {
  CompiledQuery,
  IdentifierNode,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  RawNode,
  createQueryId,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

/** The part of PGlite this driver uses; a structural type so tests can pass fakes. */
export type PGliteHandle = Pick<PGliteInterface, 'query' | 'close' | 'waitReady'>;

export interface PGliteDialectConfig {
  /** The instance, or a factory run on first use. The driver closes it on destroy. */
  pglite: PGliteHandle | (() => Promise<PGliteHandle>);
  /** Runs once on the connection before its first use (e.g. SET search_path). */
  onCreateConnection?: (connection: DatabaseConnection) => Promise<void>;
}

export class PGliteDialect implements Dialect {
  readonly #config: PGliteDialectConfig;

  constructor(config: PGliteDialectConfig) {
    this.#config = config;
  }

  createDriver(): Driver {
    return new PGliteDriver(this.#config);
  }
  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }
  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}

/** FIFO mutex: unlock hands the lock straight to the next waiter, so nobody can barge in. */
class ConnectionMutex {
  #held = false;
  readonly #waiters: Array<() => void> = [];

  async lock(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return;
    }
    await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  unlock(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#held = false;
  }
}

const MUTATING_COMMANDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

class PGliteConnection implements DatabaseConnection {
  readonly #pglite: PGliteHandle;

  constructor(pglite: PGliteHandle) {
    this.#pglite = pglite;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.#pglite.query<R>(compiledQuery.sql, [...compiledQuery.parameters], {
      rowMode: 'object',
    });
    // Mirrors kysely's PostgresDriver: affected-row counts only for DML.
    const affected = MUTATING_COMMANDS.has(result.command ?? '')
      ? BigInt(result.rowCount ?? result.affectedRows ?? 0)
      : undefined;
    return affected === undefined ? { rows: result.rows } : { rows: result.rows, numAffectedRows: affected };
  }

  // PGlite exposes no cursors/portals through query(), so this buffers the whole
  // result and yields it in chunks: same API as pg, none of the memory savings.
  async *streamQuery<R>(compiledQuery: CompiledQuery, chunkSize = 100): AsyncIterableIterator<QueryResult<R>> {
    if (!Number.isInteger(chunkSize) || chunkSize <= 0) {
      throw new Error('chunkSize must be a positive integer');
    }
    const { rows } = await this.executeQuery<R>(compiledQuery);
    for (let start = 0; start < rows.length; start += chunkSize) {
      yield { rows: rows.slice(start, start + chunkSize) };
    }
  }
}

class PGliteDriver implements Driver {
  readonly #config: PGliteDialectConfig;
  readonly #mutex = new ConnectionMutex();
  #pglite: PGliteHandle | undefined;
  #connection: PGliteConnection | undefined;
  #connectionPrepared = false;

  constructor(config: PGliteDialectConfig) {
    this.#config = config;
  }

  async init(): Promise<void> {
    const source = this.#config.pglite;
    const pglite = typeof source === 'function' ? await source() : source;
    await pglite.waitReady;
    this.#pglite = pglite;
    this.#connection = new PGliteConnection(pglite);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.#mutex.lock();
    const connection = this.#connection;
    if (!connection) {
      this.#mutex.unlock();
      throw new Error('PGlite driver has been destroyed');
    }
    if (!this.#connectionPrepared && this.#config.onCreateConnection) {
      try {
        await this.#config.onCreateConnection(connection);
      } catch (error) {
        this.#mutex.unlock();
        throw error;
      }
    }
    this.#connectionPrepared = true;
    return connection;
  }

  async releaseConnection(): Promise<void> {
    this.#mutex.unlock();
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let statement = 'begin';
    if (settings.isolationLevel || settings.accessMode) {
      statement = 'start transaction';
      if (settings.isolationLevel) statement += ` isolation level ${settings.isolationLevel}`;
      if (settings.accessMode) statement += ` ${settings.accessMode}`;
    }
    await connection.executeQuery(CompiledQuery.raw(statement));
  }

  // Like pg, a COMMIT of an aborted transaction reports ROLLBACK rather than
  // failing; kept identical to PostgresDriver so both backends behave the same.
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await connection.executeQuery(compile(savepointCommand('savepoint', name), createQueryId()));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await connection.executeQuery(compile(savepointCommand('rollback to', name), createQueryId()));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await connection.executeQuery(compile(savepointCommand('release', name), createQueryId()));
  }

  // Waits for the current holder (e.g. an open transaction) to finish, like pool.end().
  async destroy(): Promise<void> {
    await this.#mutex.lock();
    const pglite = this.#pglite;
    this.#pglite = undefined;
    this.#connection = undefined;
    try {
      if (pglite) await pglite.close();
    } finally {
      this.#mutex.unlock();
    }
  }
}

/** The identifier node makes kysely quote/sanitise the savepoint name. */
function savepointCommand(command: string, name: string): RawNode {
  return RawNode.createWithChildren([RawNode.createWithSql(`${command} `), IdentifierNode.create(name)]);
}
