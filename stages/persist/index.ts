// persistStage: copies the conversation log (JetStream) into PostgreSQL through kysely, in batches.
// Writes are idempotent on item id and version, so redelivery after a crash or a database outage
// converges to the same rows; nothing is acked before it is committed.
import type { JsMsg } from '@nats-io/jetstream';
import { errorMessage } from '../../lib/errors.ts';
import { decodeJsonOrUndefined, publishJson } from '../../lib/nats/publish.ts';
import { metrics } from '../../lib/metrics.ts';
import { inBatches } from '../../lib/nats/batches.ts';
import { STREAMING_PULL, stopWhenGone } from '../../lib/nats/pull-options.ts';
import type { Stage, StageDeps } from '../../lib/stage.ts';
import { validators, type ConversationRecord } from '../../schemas/index.ts';
import { createConversationLog, type ConversationLog, type ItemDeletion, type ItemRow, type SessionClose, type SessionStart } from './db/conversation-log.ts';
import { openDatabase, type ConversationDatabase } from './db/database.ts';

export { openDatabase, type ConversationDatabase } from './db/database.ts';
export { createConversationLog, type ConversationLog, type ItemRow } from './db/conversation-log.ts';

const BATCH = 500;
/** A batch closes this long after its first record: rows land within a fraction of a second, in few transactions. */
const LINGER_MS = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Apply one batch of records in the order that keeps foreign facts consistent. */
export async function applyRecords(log: ConversationLog, records: ConversationRecord[]): Promise<void> {
  const opened: SessionStart[] = [];
  const items: ItemRow[] = [];
  const deleted: ItemDeletion[] = [];
  const closed: SessionClose[] = [];
  for (const r of records) {
    switch (r.kind) {
      case 'session.opened':
        opened.push({ sessionId: r.sessionId, tenantId: r.tenantId, model: r.model, createdAt: new Date(r.at) });
        break;
      case 'item.upserted':
        items.push({
          itemId: r.item.id,
          sessionId: r.sessionId,
          tenantId: r.tenantId,
          position: r.position,
          type: r.item.type,
          role: r.item.role,
          status: r.item.status,
          content: r.item.content,
          transcript: r.item.transcript,
          callId: r.item.callId,
          name: r.item.name,
          arguments: r.item.arguments,
          output: r.item.output,
          version: r.version,
          createdAt: new Date(r.at),
          updatedAt: new Date(r.at),
          deletedAt: null,
        });
        break;
      case 'item.deleted':
        deleted.push({ itemId: r.itemId, sessionId: r.sessionId, version: r.version, at: new Date(r.at) });
        break;
      case 'session.closed':
        closed.push({ sessionId: r.sessionId, closedAt: new Date(r.at), reason: r.reason });
        break;
      default: {
        const never: never = r;
        throw new Error(`unknown record ${JSON.stringify(never)}`);
      }
    }
  }
  if (opened.length) await log.upsertSessions(opened);
  if (items.length) await log.upsertItems(items);
  if (deleted.length) await log.deleteItems(deleted);
  if (closed.length) await log.closeSessions(closed);
  metrics.persistRows.inc({ kind: 'session' }, opened.length + closed.length);
  metrics.persistRows.inc({ kind: 'item' }, items.length + deleted.length);
}

export async function startPersistStage(deps: StageDeps, database?: ConversationDatabase): Promise<Stage> {
  const { bus, config, log } = deps;
  const db =
    database ??
    (await openDatabase({
      ...(config.db.url ? { url: config.db.url } : { dataDir: `${config.dataDir}/pgdata` }),
      poolSize: config.db.poolSize,
      ...(config.db.schema ? { schema: config.db.schema } : {}),
    }));
  const conversationLog = createConversationLog(db.db);
  const stopping = new AbortController();
  let healthy = true;

  async function park(msg: JsMsg, reason: string): Promise<void> {
    metrics.deadLetters.inc({ stage: 'persist' });
    await publishJson(
      bus,
      bus.cat.subjects.deadLetter('persist'),
      { stage: 'persist', subject: msg.subject, deliveries: msg.info.deliveryCount, error: { code: 'invalid_record', message: reason }, body: Buffer.from(msg.data).toString('base64') },
      { msgId: `dlq:persist:${msg.seq}`, retryForMs: 10_000 },
    ).catch((err: unknown) => log.error({ err: errorMessage(err) }, 'could not park dead letter'));
    msg.term();
  }

  /** Write one batch, then ack it; on a database failure nak it with backoff (JetStream keeps it). */
  async function writeBatch(batch: JsMsg[], failures: number): Promise<number> {
    const msgs: JsMsg[] = [];
    const records: ConversationRecord[] = [];
    for (const m of batch) {
      const checked = validators.conversationRecord.validate(decodeJsonOrUndefined(m.data));
      if (!checked.ok) {
        await park(m, checked.error.message);
        continue;
      }
      msgs.push(m);
      records.push(checked.value);
    }
    if (!msgs.length) return failures;
    const started = performance.now();
    try {
      await applyRecords(conversationLog, records);
      healthy = true;
      for (const m of msgs) m.ack();
      return 0;
    } catch (err) {
      // Database down: keep everything and try again later; JetStream holds the log.
      healthy = false;
      log.error({ err: errorMessage(err), records: records.length }, 'database write failed, will retry');
      for (const m of msgs) m.nak(Math.min(30_000, 500 * 2 ** Math.min(failures + 1, 6)));
      await sleep(Math.min(5_000, 250 * 2 ** Math.min(failures + 1, 5)));
      return failures + 1;
    } finally {
      metrics.persistBatchSeconds.observe((performance.now() - started) / 1000);
    }
  }

  // One streaming pull, cut into batches. (Back-to-back one-second fetches could strand records: a
  // fetch that ends early on missed heartbeats leaves what the server still sends it unacked until
  // the 30 s ack wait runs out, so a turn's items could reach the database half a minute late.)
  async function loop(): Promise<void> {
    let failures = 0;
    while (!stopping.signal.aborted) {
      try {
        const consumer = await bus.js.consumers.get(bus.cat.streams.conversation, bus.cat.consumers.persist);
        const messages = await consumer.consume(STREAMING_PULL);
        const stop = () => messages.stop();
        stopping.signal.addEventListener('abort', stop);
        void stopWhenGone(messages, (status) => log.warn({ status }, 'persist consumer stalled, rebuilding'));
        try {
          for await (const batch of inBatches(messages, BATCH, LINGER_MS)) failures = await writeBatch(batch, failures);
        } finally {
          stopping.signal.removeEventListener('abort', stop);
        }
      } catch (err) {
        if (stopping.signal.aborted) break;
        log.warn({ err: errorMessage(err) }, 'persist consumer failed, retrying');
      }
      if (!stopping.signal.aborted) await sleep(1_000);
    }
  }

  const running = loop();
  log.info({ database: db.kind }, 'persist stage started');
  return {
    name: 'persist',
    ready: () => healthy,
    async stop() {
      stopping.abort();
      await running;
      if (!database) await db.close();
    },
  };
}
