// WireHeaders against nats.js's own MsgHdrs: the same bytes for the same operations, the same
// refusals, and the same headers read back by a subscriber of a real nats-server (and in JetStream).
// An input audio frame's block given whole (WireHeaders.fromBlock) is byte for byte what set() writes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Match, connect, headers, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer, type NatsServerHandle } from '../../ops/nats-server.ts';
import { HEADER, readAudioHeaders } from '../../schemas/index.ts';
import { WireHeaders, audioFrameBlock, audioFrameBlockPrefix } from './wire-headers.ts';
import { buildHeaders } from './publish.ts';

let server: NatsServerHandle;
let dir: string;
let nc: NatsConnection;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'parley-wh-'));
  server = await startNatsServer({ storeDir: dir });
  nc = await connect({ servers: server.url });
  await (await jetstreamManager(nc)).streams.add({ name: 'WH', subjects: ['wh.js.>'] });
});
after(async () => {
  await nc?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

const encoded = (h: MsgHdrs) => Buffer.from((h as unknown as { encode(): Uint8Array }).encode()).toString('latin1');

/** Apply the same operations to both implementations. */
function both(ops: (h: MsgHdrs) => void): [string, string] {
  const ours = new WireHeaders();
  const theirs = headers();
  ops(ours);
  ops(theirs);
  return [encoded(ours), encoded(theirs)];
}

test('encodes exactly what nats.js MsgHdrs encodes for the same sets, appends and deletes', () => {
  const cases: Array<(h: MsgHdrs) => void> = [
    () => undefined,
    (h) => h.set('Nats-Msg-Id', 'sess_1:audio:7'),
    (h) => {
      h.set('Parley-Kind', 'audio');
      h.set('Parley-Gateway', 'gw-1');
      h.set('Parley-Seq', '42');
      h.set('Parley-Kind', 'control'); // replaces, keeps its place
      h.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    },
    (h) => {
      h.append('X-Multi', 'one');
      h.append('X-Multi', '  two  '); // trimmed
      h.set('Other', 'v');
      h.delete('Other');
      h.set('Unicode', 'héllo ✓');
    },
  ];
  for (const ops of cases) {
    const [ours, theirs] = both(ops);
    assert.equal(ours, theirs);
  }
});

test('reads like MsgHdrs, and refuses what nats.js refuses', () => {
  const h = WireHeaders.of({ 'Parley-Seq': '7', 'Parley-Kind': 'audio' });
  assert.equal(h.get('Parley-Seq'), '7');
  assert.equal(h.get('parley-seq'), '', 'exact match by default');
  assert.equal(h.get('parley-seq', Match.IgnoreCase), '7');
  assert.equal(h.has('Parley-Kind'), true);
  assert.equal(h.has('Nope'), false);
  assert.deepEqual(h.keys(), ['Parley-Seq', 'Parley-Kind']);
  h.append('Parley-Kind', 'more');
  assert.deepEqual(h.values('Parley-Kind'), ['audio', 'more']);
  assert.equal(h.last('Parley-Kind'), 'more');
  h.delete('PARLEY-KIND', Match.IgnoreCase);
  assert.equal(h.has('Parley-Kind'), false);
  assert.deepEqual([...h], [['Parley-Seq', ['7']]]);
  const before = encoded(h);
  h.set('Parley-Seq', '8');
  assert.notEqual(encoded(h), before, 'a change after encoding is encoded again');
  for (const bad of ['Has Space', 'Colon:', '', 'Tab\t']) assert.throws(() => h.set(bad, 'v'), /invalid header name/);
  assert.throws(() => h.set('Ok', 'line\r\nInjected: 1'), /cannot contain/);
  assert.throws(() => headers().set('Ok', 'line\r\nInjected: 1'), 'nats.js refuses the same value');
});

test('a subscriber of a real nats-server, and a JetStream consumer, read the headers back', async () => {
  const got = new Promise<Msg>((resolve) => nc.subscribe('wh.core', { max: 1, callback: (_err, m) => resolve(m) }));
  nc.publish('wh.core', new Uint8Array([1, 2, 3]), { headers: WireHeaders.of({ 'Parley-Seq': '99', 'Parley-Gateway': 'gw-é' }) });
  const m = await got;
  assert.equal(m.headers?.get('Parley-Seq'), '99');
  assert.equal(m.headers?.get('Parley-Gateway'), 'gw-é');
  assert.deepEqual([...m.data], [1, 2, 3]);

  const js = jetstream(nc);
  const h = WireHeaders.of({ 'Nats-Msg-Id': 'dedupe-me', 'Parley-Kind': 'audio' });
  const first = await js.publish('wh.js.a', new Uint8Array([9]), { headers: h });
  const again = await js.publish('wh.js.a', new Uint8Array([9]), { headers: h });
  assert.equal(again.duplicate, true, 'the server read Nats-Msg-Id from our block');
  assert.equal(again.seq, first.seq);
  const stored = await (await jetstreamManager(nc)).streams.getMessage('WH', { seq: first.seq });
  assert.equal(stored?.header.get('Parley-Kind'), 'audio');
});

test('the VAD reads the audio headers of a real message in one pass', async () => {
  const got = new Promise<Msg>((resolve) => nc.subscribe('wh.audio', { max: 1, callback: (_err, m) => resolve(m) }));
  nc.publish('wh.audio', new Uint8Array(4), { headers: WireHeaders.of({ [HEADER.kind]: 'audio', [HEADER.gateway]: 'gw-7', [HEADER.seq]: '3', [HEADER.offset]: '960', [HEADER.sentAt]: '1764876000123' }) });
  assert.deepEqual(readAudioHeaders((await got).headers), { kind: 'audio', gateway: 'gw-7', seq: 3, offset: 960, sentAt: 1764876000123 });
});

test('an audio frame block written whole is what the header map writes, reads the same, and re-encodes after a change', async () => {
  const prefix = audioFrameBlockPrefix('gw_7-a');
  const whole = WireHeaders.fromBlock(audioFrameBlock(prefix, 41, 960_000, 1764876000123));
  const mapped = buildHeaders('audio', { [HEADER.gateway]: 'gw_7-a', [HEADER.seq]: '41', [HEADER.offset]: '960000', [HEADER.sentAt]: '1764876000123' });
  assert.deepEqual(Buffer.from(whole.encode()), Buffer.from(mapped.encode()));
  assert.deepEqual([...whole], [...mapped]);
  assert.equal(whole.get(HEADER.seq), '41');
  assert.throws(() => audioFrameBlockPrefix('gw\r\nX-Evil: 1'), /cannot contain/);
  whole.set('Nats-Msg-Id', 'm1');
  assert.match(Buffer.from(whole.encode()).toString('latin1'), /\r\nNats-Msg-Id: m1\r\n\r\n$/);
  const got = new Promise<Msg>((resolve) => nc.subscribe('wh.frame', { max: 1, callback: (_err, m) => resolve(m) }));
  nc.publish('wh.frame', new Uint8Array(4), { headers: WireHeaders.fromBlock(audioFrameBlock(prefix, 7, 480, 1764876000999)) });
  assert.deepEqual(readAudioHeaders((await got).headers), { kind: 'audio', gateway: 'gw_7-a', seq: 7, offset: 480, sentAt: 1764876000999 });
});
