// The NATS connection every role shares: core client, JetStream client and manager, KV manager,
// and the subject catalogue. Reconnects forever; status changes are logged and counted, never fatal
// (a missed heartbeat is not a dead connection).
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { Catalogue } from '../../subjects/index.ts';
import type { Logger } from '../logger.ts';
import { metrics } from '../metrics.ts';
import { TransportError, errorMessage } from '../errors.ts';
import { AckingPublisher } from './acking-publisher.ts';

export interface Bus {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly kvm: Kvm;
  readonly cat: Catalogue;
  /** Publish-with-PubAck without the per-request timer and error of the generic client path. */
  readonly publisher: AckingPublisher;
  readonly serverVersion: string;
  /** True when the server is at least the given version (feature detection for 2.10+ options). */
  serverAtLeast(version: string): boolean;
  close(): Promise<void>;
}

export interface BusOptions {
  readonly url: string;
  readonly name: string;
  readonly catalogue: Catalogue;
  readonly log: Logger;
  /** How long to keep retrying the first connection and JetStream cold start. */
  readonly connectTimeoutMs?: number;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * JetStream API and KV calls time out after this. Short, because after a node crash the callers
 * retry in a loop until the new leaders answer, and every timed-out attempt is dead time.
 */
const API_TIMEOUT_MS = 3_000;

export async function connectBus(opts: BusOptions): Promise<Bus> {
  const deadline = Date.now() + (opts.connectTimeoutMs ?? 30_000);
  let nc: NatsConnection | undefined;
  for (let attempt = 0; !nc; attempt++) {
    try {
      nc = await connect({
        servers: opts.url.split(',').map((s) => s.trim()),
        name: opts.name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        pingInterval: 10_000,
        noAsyncTraces: true,
      });
    } catch (err) {
      if (Date.now() > deadline) throw new TransportError(`cannot connect to NATS at ${opts.url}: ${errorMessage(err)}`, err);
      if (attempt === 0) opts.log.warn({ url: opts.url, err: errorMessage(err) }, 'nats connect failed, retrying');
      await sleep(Math.min(1000, 100 * 2 ** attempt));
    }
  }
  const conn = nc;
  coalesceWrites(conn);
  void watchStatus(conn, opts.log);
  // JetStream needs a meta leader; a cluster at cold start answers "temporarily unavailable".
  let jsm: JetStreamManager | undefined;
  for (let attempt = 0; !jsm; attempt++) {
    try {
      jsm = await jetstreamManager(conn, { timeout: API_TIMEOUT_MS });
    } catch (err) {
      if (Date.now() > deadline) {
        await conn.close();
        throw new TransportError(`JetStream is not available at ${opts.url} (is nats-server running with -js?): ${errorMessage(err)}`, err);
      }
      await sleep(Math.min(1000, 100 * 2 ** attempt));
    }
  }
  const js = jetstream(conn, { timeout: API_TIMEOUT_MS });
  const serverVersion = conn.info?.version ?? '0.0.0';
  const publisher = new AckingPublisher(conn);
  return {
    nc: conn,
    js,
    jsm,
    kvm: new Kvm(js),
    cat: opts.catalogue,
    publisher,
    serverVersion,
    serverAtLeast: (v) => compareVersions(serverVersion, v) >= 0,
    async close() {
      if (conn.isClosed()) return;
      publisher.close();
      await conn.drain().catch(() => conn.close());
    },
  };
}

/**
 * nats.js writes its outbound buffer on a microtask after the first command of a burst. JetStream
 * consumers hand each message to its handler through a promise of its own, so that microtask runs
 * between two messages: one socket write per ack or publish (thousands a second on a VAD worker or
 * a gateway). Deferring the flush to setImmediate sends everything one turn of the event loop
 * produced in one write; order is unchanged (one buffer), and a write waits at most until the end
 * of the current turn. A client without this internal keeps its own behaviour.
 */
function coalesceWrites(nc: NatsConnection): void {
  const protocol = (nc as unknown as { protocol?: { flushPending?: () => void } }).protocol;
  if (typeof protocol?.flushPending !== 'function') return;
  const flushNow = protocol.flushPending.bind(protocol);
  let scheduled = false;
  protocol.flushPending = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      flushNow();
    });
  };
}

async function watchStatus(nc: NatsConnection, log: Logger): Promise<void> {
  for await (const s of nc.status()) {
    metrics.natsStatus.inc({ type: s.type });
    switch (s.type) {
      case 'disconnect':
      case 'error':
      case 'staleConnection':
        log.warn({ status: s.type, data: 'server' in s ? s.server : undefined }, 'nats status');
        break;
      case 'reconnect':
        log.info({ status: s.type }, 'nats reconnected');
        break;
      default:
        log.debug({ status: s.type }, 'nats status');
    }
  }
}
