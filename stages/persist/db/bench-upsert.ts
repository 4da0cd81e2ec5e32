// Owns the upsert throughput benchmark: rows/s through ConversationLog.upsertItems
// for batches of 1, 10 and 100 against real PostgreSQL and PGlite (in memory and
// on disk), median of 5 timed runs after a warm-up. Batches are sent one after
// another, as a single persist consumer would.
// Run: node --import tsx stages/persist/db/bench-upsert.ts
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireTestPostgres } from '../../../test/support/postgres.ts';
import { createConversationLog } from './conversation-log.ts';
import { openDatabase, type ConversationDatabase } from './database.ts';
import type { ItemRow } from './item-rows.ts';

const BATCH_SIZES = [1, 10, 100] as const;
const RUNS = 5;
const ROWS_PER_RUN = 2_000;

interface Target {
  name: string;
  open(): Promise<ConversationDatabase>;
  dispose(): Promise<void>;
}

let sequence = 0;
function freshItems(count: number, sessionId: string): ItemRow[] {
  const at = new Date();
  return Array.from({ length: count }, () => {
    sequence += 1;
    return {
      itemId: `bench_${sequence}`,
      sessionId,
      tenantId: 'bench',
      position: sequence,
      type: 'message',
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_audio', transcript: 'A typical short spoken reply from the agent.' }],
      transcript: 'A typical short spoken reply from the agent.',
      callId: null,
      name: null,
      arguments: null,
      output: null,
      version: 1,
      createdAt: at,
      updatedAt: at,
      deletedAt: null,
    };
  });
}

/** Rows per second for one run of ROWS_PER_RUN fresh rows in batches of `batchSize`. */
async function timeRun(database: ConversationDatabase, batchSize: number): Promise<number> {
  const log = createConversationLog(database.db);
  const rows = freshItems(ROWS_PER_RUN, `bench_session_${batchSize}`);
  const started = process.hrtime.bigint();
  for (let start = 0; start < rows.length; start += batchSize) {
    await log.upsertItems(rows.slice(start, start + batchSize));
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return ROWS_PER_RUN / seconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function targets(): Promise<Target[]> {
  const postgres = await acquireTestPostgres();
  const dataDir = await mkdtemp(join(tmpdir(), 'parley-bench-pglite-'));
  return [
    { name: 'postgres', open: () => openDatabase({ url: postgres.url, schema: postgres.schema }), dispose: postgres.drop },
    { name: 'pglite (memory)', open: () => openDatabase(), dispose: async () => {} },
    { name: 'pglite (disk)', open: () => openDatabase({ dataDir }), dispose: () => rm(dataDir, { recursive: true, force: true }) },
  ];
}

async function main(): Promise<void> {
  console.log(`upsertItems throughput, ${ROWS_PER_RUN} new rows per run, median of ${RUNS} runs (rows/s)`);
  console.log(['target'.padEnd(18), ...BATCH_SIZES.map((size) => `batch ${size}`.padStart(12))].join(''));
  for (const target of await targets()) {
    const database = await target.open();
    try {
      const cells: string[] = [];
      for (const batchSize of BATCH_SIZES) {
        await timeRun(database, batchSize); // warm-up: JIT, plan cache, buffer cache
        const samples: number[] = [];
        for (let run = 0; run < RUNS; run++) samples.push(await timeRun(database, batchSize));
        cells.push(Math.round(median(samples)).toLocaleString('en-US').padStart(12));
      }
      console.log([target.name.padEnd(18), ...cells].join(''));
    } finally {
      await database.close();
      await target.dispose();
    }
  }
}

await main();
