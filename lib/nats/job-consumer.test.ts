// The job worker loop against a real nats-server with JetStream: stop() lets a running job finish
// within the grace period (acked); cancels a job still running after it (its signal aborts, acked
// as cancelled); and does not wait for ever on a job that ignores its cancel (left unacked, so
// JetStream hands it to another worker); hands a job its attachment; parks an invalid job whole;
// records how long a job waited in the stream (from the server's timestamp) in the stage's histogram.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBus, type TestBus } from '../../test/support/bus.ts';
import type { Bus } from './bus.ts';
import { AckPolicy } from '@nats-io/jetstream';
import { validators, type DeadLetter, type TtsJob } from '../../schemas/index.ts';
import { createRootLogger } from '../logger.ts';
import { decodeJson, publishJson } from './publish.ts';
import { startJobConsumer, type JobContext } from './job-consumer.ts';
import { metrics } from '../metrics.ts';

const STREAM = 'JCTEST';
let testBus: TestBus;
let bus: Bus;

before(async () => {
  testBus = await startTestBus({ prefix: 'jctest' });
  bus = testBus.bus;
  await bus.jsm.streams.add({ name: STREAM, subjects: ['jctest.jobs.>'] });
});
after(() => testBus?.stop());

const job = (n: number): TtsJob => ({ sessionId: `s${n}`, gatewayId: 'g', responseId: `r${n}`, itemId: `i${n}`, sentence: 0, text: 'hello', voice: 'alloy', speed: 1, createdAt: Date.now() });

/** A TTS job worker on `consumer` of the test stream, one job at a time. */
function startTtsWorker(consumer: string, handle: (job: TtsJob, ctx: JobContext) => Promise<void>) {
  return startJobConsumer<TtsJob>({
    bus,
    stage: 'tts',
    stream: STREAM,
    consumer,
    concurrency: 1,
    ackWaitMs: 30_000,
    maxDeliver: 3,
    validator: validators.ttsJob,
    log: createRootLogger({ level: 'silent' }),
    handle,
  });
}

/** A consumer of its own, one job on it, and a worker whose handler is `handle`; resolves once the job runs. */
async function workerWith(name: string, handle: (ctx: JobContext) => Promise<void>) {
  await bus.jsm.consumers.add(STREAM, { durable_name: name, filter_subject: `jctest.jobs.${name}`, ack_policy: AckPolicy.Explicit, ack_wait: 30_000_000_000 });
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const worker = startTtsWorker(name, (_job, ctx) => {
    started();
    return handle(ctx);
  });
  await publishJson(bus, `jctest.jobs.${name}`, job(1));
  await running;
  const pending = async () => {
    await bus.nc.flush(); // acks are fire-and-forget: let the server see them first
    return (await bus.jsm.consumers.info(STREAM, name)).num_ack_pending;
  };
  return { worker, pending };
}

test('stop() lets a running job finish within the grace period, and it is acked', async () => {
  let finished = false;
  const { worker, pending } = await workerWith('finishes', async () => {
    await new Promise((r) => setTimeout(r, 300));
    finished = true;
  });
  await worker.stop(2_000, 1_000);
  assert.ok(finished);
  assert.equal(await pending(), 0);
});

test('a job still running after the grace period is cancelled through its signal, and acked as cancelled', async () => {
  let aborted = false;
  const { worker, pending } = await workerWith('cancelled', (ctx) => new Promise<void>((_, reject) => ctx.signal.addEventListener('abort', () => ((aborted = true), reject(ctx.signal.reason)))));
  const started = performance.now();
  await worker.stop(300, 5_000);
  const took = performance.now() - started;
  assert.ok(aborted);
  assert.ok(took >= 290 && took < 2_000, `stopped after ${took.toFixed(0)} ms`);
  assert.equal(await pending(), 0);
});

test('a job that ignores its cancel does not hold stop() up; it stays unacked for another worker', async () => {
  let release!: () => void;
  const { worker, pending } = await workerWith('stuck', () => new Promise<void>((r) => (release = r)));
  const started = performance.now();
  await worker.stop(300, 300);
  const took = performance.now() - started;
  assert.ok(took >= 590 && took < 2_000, `stopped after ${took.toFixed(0)} ms`);
  assert.equal(await pending(), 1);
  release();
});

test('a job published with an attachment reaches its handler with those bytes', async (t) => {
  await bus.jsm.consumers.add(STREAM, { durable_name: 'attached', filter_subject: 'jctest.jobs.attached', ack_policy: AckPolicy.Explicit, ack_wait: 30_000_000_000 });
  const audio = Uint8Array.from({ length: 9_600 }, (_, i) => i % 199);
  let seen!: (got: { job: TtsJob; attachment: Uint8Array | undefined }) => void;
  const handled = new Promise<{ job: TtsJob; attachment: Uint8Array | undefined }>((r) => (seen = r));
  const worker = startTtsWorker('attached', async (j, ctx) => seen({ job: j, attachment: ctx.attachment }));
  t.after(() => worker.stop());
  await publishJson(bus, 'jctest.jobs.attached', job(7), { attachment: audio });
  const got = await handled;
  assert.equal(got.job.responseId, 'r7');
  assert.deepEqual(new Uint8Array(got.attachment!), audio);
});

test('a job that can never succeed is parked whole: the dead letter says where its attachment starts', async (t) => {
  await bus.jsm.streams.add({ name: 'JCDLQ', subjects: [bus.cat.subjects.deadLetter('tts')] });
  await bus.jsm.consumers.add(STREAM, { durable_name: 'parked', filter_subject: 'jctest.jobs.parked', ack_policy: AckPolicy.Explicit, ack_wait: 30_000_000_000 });
  const worker = startTtsWorker('parked', async () => assert.fail('an invalid job must not be handled'));
  t.after(() => worker.stop());
  const body = { not: 'a tts job' };
  await publishJson(bus, 'jctest.jobs.parked', body, { attachment: Uint8Array.from([1, 2, 3, 4]) });
  let letter: DeadLetter | undefined;
  for (let i = 0; i < 100 && !letter; i++) {
    const m = await bus.jsm.streams.getMessage('JCDLQ', { last_by_subj: bus.cat.subjects.deadLetter('tts') }).catch(() => null);
    if (m) letter = decodeJson(m.data) as DeadLetter;
    else await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(letter, 'parked');
  const json = Buffer.byteLength(JSON.stringify(body));
  assert.equal(letter.attachmentAt, json);
  assert.deepEqual([...Buffer.from(letter.body, 'base64').subarray(json)], [1, 2, 3, 4]);
});

test('the time a job waited in the stream is recorded from its server timestamp, per stage', async (t) => {
  await bus.jsm.consumers.add(STREAM, { durable_name: 'aged', filter_subject: 'jctest.jobs.aged', ack_policy: AckPolicy.Explicit, ack_wait: 30_000_000_000 });
  const ttsDelivery = async () => {
    const values = (await metrics.busDeliverySeconds.get()).values.filter((v) => v.labels.consumer === 'tts');
    return { count: values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0, sum: values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0 };
  };
  const before = await ttsDelivery();
  await publishJson(bus, 'jctest.jobs.aged', job(8));
  await new Promise((r) => setTimeout(r, 300)); // stored, nobody pulling yet
  let seen!: () => void;
  const handled = new Promise<void>((r) => (seen = r));
  const worker = startTtsWorker('aged', async () => seen());
  t.after(() => worker.stop());
  await handled;
  const after = await ttsDelivery();
  assert.equal(after.count - before.count, 1);
  const waited = after.sum - before.sum;
  assert.ok(waited >= 0.29 && waited < 5, `recorded ${waited} s for a job that waited ~0.3 s`);
});
