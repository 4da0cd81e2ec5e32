// The bus's own share of the pipeline's latency, measured under the pipeline's load: a separate,
// otherwise idle process publishes to a JetStream stream of its own on the run's nats-server every
// 10 ms and takes each message off a pull consumer (consume(), as Parley's gateway takes its
// outbox), timing publish -> handler. Every hop Parley makes is that plus Parley's own time: the
// gap between the two is what Parley's processes add.
//
// As a module: runHopProbe() starts this file as a child process and returns its samples.
// As a program: node --import tsx loadtest/hop-probe.ts <nats url> <prefix> <seconds>; prints one
// JSON line {"samples":[ms, ...]}.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { createCatalogue } from '../subjects/index.ts';
import { quantileSorted } from './stats.ts';

const EVERY_MS = 10;
const HERE = fileURLToPath(import.meta.url);

/** Publish -> handler times (ms) of one message every 10 ms for `seconds`. */
async function probe(natsUrl: string, prefix: string, seconds: number): Promise<number[]> {
  const cat = createCatalogue({ prefix, partitions: 1 });
  const nc = await connect({ servers: natsUrl, name: 'parley-bench-hop-probe' });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const stream = cat.streams.benchHop;
  const subject = cat.subjects.benchHop();
  const samples: number[] = [];
  try {
    await jsm.streams.delete(stream).catch(() => false); // a leftover of an interrupted run
    await jsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.Memory, retention: RetentionPolicy.Workqueue, description: 'Parley pipeline bench: bus hop probe (removed at the end of the probe)' });
    await jsm.consumers.add(stream, { durable_name: 'probe', ack_policy: AckPolicy.Explicit });
    const messages = await (await js.consumers.get(stream, 'probe')).consume({ max_messages: 100 });
    const sentAt = new Map<number, number>();
    const received = (async () => {
      for await (const m of messages) {
        const at = performance.now();
        const sent = sentAt.get(Number(m.string()));
        if (sent !== undefined) samples.push(at - sent);
        m.ack();
      }
    })();
    const end = performance.now() + seconds * 1000;
    for (let n = 0; performance.now() < end; n++) {
      sentAt.set(n, performance.now());
      js.publish(subject, String(n)).catch(() => undefined); // a lost sample is only a missing sample
      await new Promise((r) => setTimeout(r, EVERY_MS));
    }
    await new Promise((r) => setTimeout(r, 500)); // the last ones in flight
    messages.stop();
    await received;
  } finally {
    await jsm.streams.delete(stream).catch(() => false);
    await nc.close();
  }
  return samples;
}

/** Runs the probe in a child process of its own (an idle event loop, like a perfect stage would have). */
export function runHopProbe(natsUrl: string, prefix: string, seconds: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', HERE, natsUrl, prefix, String(seconds)], { cwd: path.dirname(path.dirname(HERE)), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`hop probe exited with ${code}: ${err.trim().slice(0, 500)}`));
      try {
        resolve((JSON.parse(out) as { samples: number[] }).samples);
      } catch {
        reject(new Error(`hop probe printed no samples: ${out.slice(0, 200)}`));
      }
    });
  });
}

/**
 * Quantiles of the bus alone along Parley's path from speech_stopped to first audio: five hops in
 * sequence (STT job, transcript, LLM job, TTS job, audio) less the one that delivers speech_stopped,
 * drawn from `samples` (`draws` times, with a fixed seed: the same samples give the same figures).
 */
export function busPathQuantiles(samples: readonly number[], quantiles: readonly number[], draws = 20_000): number[] {
  if (samples.length === 0) return quantiles.map(() => NaN);
  let seed = 0x2545f491;
  const pick = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return samples[(seed >>> 0) % samples.length]!;
  };
  const sums = Array.from({ length: draws }, () => pick() + pick() + pick() + pick() + pick() - pick()).sort((a, b) => a - b);
  return quantiles.map((q) => quantileSorted(sums, q));
}

if (process.argv[1] === HERE) {
  const [natsUrl, prefix, seconds] = process.argv.slice(2);
  if (!natsUrl || !prefix || !seconds) {
    process.stderr.write('Usage: node --import tsx loadtest/hop-probe.ts <nats url> <prefix> <seconds>\n');
    process.exit(2);
  }
  const samples = await probe(natsUrl, prefix, Number(seconds));
  process.stdout.write(`${JSON.stringify({ samples: samples.map((s) => Math.round(s * 1000) / 1000) })}\n`);
}
