// AckingPublisher against a real nats-server with JetStream: acks, de-duplication by Nats-Msg-Id,
// a fast failure when no stream takes the subject, and a timeout when nobody answers at all.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer, type NatsServerHandle } from '../../ops/nats-server.ts';
import { TransportError } from '../errors.ts';
import { AckingPublisher } from './acking-publisher.ts';

let server: NatsServerHandle;
let dir: string;
let nc: NatsConnection;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'parley-ap-'));
  server = await startNatsServer({ storeDir: dir });
  nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'AP', subjects: ['ap.>'] });
});
after(async () => {
  await nc?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('acks a publish with its stream sequence and flags a duplicate Nats-Msg-Id', async () => {
  const p = new AckingPublisher(nc);
  const h = () => {
    const x = headers();
    x.set('Nats-Msg-Id', 'same-id');
    return x;
  };
  const first = await p.publish('ap.one', new Uint8Array([1]), h());
  assert.equal(first.stream, 'AP');
  assert.equal(first.duplicate, false);
  const again = await p.publish('ap.one', new Uint8Array([1]), h());
  assert.equal(again.duplicate, true);
  assert.equal(again.seq, first.seq);
  // Many in flight at once all resolve, in order of their sequence numbers.
  const acks = await Promise.all(Array.from({ length: 500 }, (_, i) => p.publish('ap.many', new Uint8Array([i % 256]), headers())));
  assert.deepEqual(acks.map((a) => a.seq), [...acks.map((a) => a.seq)].sort((a, b) => a - b));
  assert.equal(p.inFlight, 0);
  p.close();
});

test('fails fast when no stream takes the subject, and times out when nobody answers', async () => {
  const p = new AckingPublisher(nc, 1_000);
  const started = performance.now();
  await assert.rejects(p.publish('nostream.x', new Uint8Array(1), headers()), TransportError);
  assert.ok(performance.now() - started < 500, 'no-responders is immediate');
  const silent = nc.subscribe('silent.x', { callback: () => undefined });
  const t0 = performance.now();
  await assert.rejects(p.publish('silent.x', new Uint8Array(1), headers()), /no PubAck/);
  assert.ok(performance.now() - t0 >= 1_000 && performance.now() - t0 < 3_000);
  silent.unsubscribe();
  p.close();
});
