// STREAMING_PULL against a real nats-server: a partition-like consumer fed one session's audio rate
// (25 messages/s) keeps delivering across several pull expiries. With the batch of 2,000 and the
// default heartbeat this used before, nats-server 2.9.10 let about one expiry in four lapse
// silently and delivery stopped for ~5 s; the options keep any gap near the message interval.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { startNatsServer, type NatsServerHandle } from '../../ops/nats-server.ts';
import { STREAMING_PULL, consumerGone } from './pull-options.ts';

let server: NatsServerHandle;
let dir: string;
let nc: NatsConnection;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'parley-pull-'));
  server = await startNatsServer({ storeDir: dir });
  nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'PULL', subjects: ['pull.>'], storage: StorageType.Memory });
  await jsm.consumers.add('PULL', { durable_name: 'partition', ack_policy: AckPolicy.Explicit, filter_subject: 'pull.audio' });
});
after(async () => {
  await nc?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('a streaming consumer keeps delivering across pull expiries (no multi-second gap)', { timeout: 60_000 }, async () => {
  const js = jetstream(nc);
  const messages = await (await js.consumers.get('PULL', 'partition')).consume(STREAMING_PULL);
  const statuses: string[] = [];
  void (async () => {
    for await (const s of messages.status()) if (consumerGone(s)) statuses.push(s.type);
  })();
  const runMs = 17_000; // three expiries of the 5 s pull request
  const sent = Math.floor(runMs / 40);
  let received = 0;
  let worstGap = 0;
  const reading = (async () => {
    let last = performance.now();
    for await (const m of messages) {
      const now = performance.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
      m.ack();
      if (++received === sent) break;
    }
  })();
  for (let i = 0; i < sent; i++) {
    await js.publish('pull.audio', new Uint8Array(1_920));
    await new Promise((r) => setTimeout(r, 40));
  }
  await Promise.race([reading, new Promise((r) => setTimeout(r, 5_000))]);
  messages.stop();
  assert.equal(received, sent, 'every message delivered');
  assert.ok(worstGap < 1_500, `longest pause in delivery ${worstGap.toFixed(0)} ms`);
  assert.deepEqual(statuses, [], 'never considered gone');
});

test('a consumer is rebuilt only when heartbeats stay missing, or when it is gone', () => {
  assert.equal(consumerGone({ type: 'heartbeats_missed', count: 2 }), false, 'nats.js pulls again by itself first');
  assert.equal(consumerGone({ type: 'heartbeats_missed', count: 4 }), true);
  assert.equal(consumerGone({ type: 'consumer_deleted' }), true);
  assert.equal(consumerGone({ type: 'discard' }), false);
});
