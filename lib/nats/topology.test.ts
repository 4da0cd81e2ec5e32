// The topology against a real nats-server: every stream is made as defined, and a stream made
// before with other storage (by hand, or by a release whose definition differed) keeps working —
// brought in step where it can be — with a warning that says how to apply the definition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { startTestBus } from '../../test/support/bus.ts';
import { createRootLogger } from '../logger.ts';
import { streamDefinitions, type TopologyOptions } from '../../subjects/index.ts';
import { ensureTopology } from './topology.ts';

const opts: TopologyOptions = { replicas: 1, audioMaxAgeMs: 60_000, outboxMaxAgeMs: 60_000, conversationMaxAgeMs: 600_000, jobMaxDeliver: 3, sessionTtlMs: 60_000, leaseTtlMs: 6_000, heartbeatTtlMs: 30_000, ephemeralKeyTtlMs: 60_000 };
const storageOf = (s: 'file' | 'memory') => (s === 'memory' ? StorageType.Memory : StorageType.File);

test('a new deployment gets every stream with its defined storage', async () => {
  const testBus = await startTestBus({ prefix: 'topo_new' });
  try {
    const { bus } = testBus;
    await ensureTopology(bus, opts);
    for (const d of streamDefinitions(bus.cat, opts)) {
      assert.equal((await bus.jsm.streams.info(d.name)).config.storage, storageOf(d.storage), d.name);
    }
    assert.equal((await bus.jsm.streams.info(bus.cat.streams.audio)).config.storage, StorageType.Memory);
    assert.equal((await bus.jsm.streams.info(bus.cat.streams.conversation)).config.storage, StorageType.File);
  } finally {
    await testBus.stop();
  }
});

test('an audio stream made with file storage keeps working, and the log says how to move it to memory', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  const log = createRootLogger({ level: 'warn', destination: sink });
  const testBus = await startTestBus({ prefix: 'topo_old' });
  try {
    const { bus } = testBus;
    const audio = streamDefinitions(bus.cat, opts).find((d) => d.role === 'audio')!;
    await bus.jsm.streams.add({ name: audio.name, subjects: [...audio.subjects], storage: StorageType.File, retention: RetentionPolicy.Limits });
    await ensureTopology(bus, opts, log);
    const info = await bus.jsm.streams.info(audio.name);
    assert.equal(info.config.storage, StorageType.File, 'storage cannot change in place');
    assert.equal(info.config.max_msg_size, audio.maxMsgSize, 'the rest of the definition is applied');
    const warning = lines.find((l) => l['stream'] === audio.name);
    assert.ok(warning, 'the drift is reported');
    assert.equal(warning['level'], 'warn');
    assert.equal(warning['defined'], StorageType.Memory);
    assert.match(String(warning['msg']), new RegExp(`nats stream rm ${audio.name}`));
    assert.equal(lines.filter((l) => l['stream'] !== undefined && l['stream'] !== audio.name).length, 0, 'streams as defined are not reported');
    // Audio still flows through the old stream to its VAD partition.
    await bus.js.publish(bus.cat.subjects.audio(0, 'sess_topo'), 'frame');
    const consumer = await bus.js.consumers.get(audio.name, bus.cat.consumers.vadPartition(0));
    const msg = await consumer.next({ expires: 2_000 });
    assert.equal(msg?.string(), 'frame');
    msg?.ack();
  } finally {
    await testBus.stop();
  }
});
