// Bench: failover times, N runs each (median and max), against real processes and a real
// nats-server:
//   vad takeover  — SIGKILL the VAD worker owning a live session's partition -> the other worker
//                   holds its lease (it then replays from the checkpoint and continues)
//   stt takeover  — SIGKILL the STT worker in the middle of a job -> the job completes elsewhere
//                   (bounded by the STT consumer's ack_wait)
//   restore       — SIGKILL a session's gateway -> the client, reconnecting to another gateway
//                   with ?session_id=, has session.created (config + conversation restored)
import { benchArgs } from './bench-args.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { startNatsServer } from '../ops/nats-server.ts';
import { partitionOf } from '../subjects/index.ts';
import { startTestPlatform, TEST_KEY } from '../test/support/platform.ts';
import { startRole, type RoleProcess } from '../test/support/processes.ts';
import { startFakeOpenAI } from '../test/support/fake-openai.ts';

const { values } = benchArgs('Usage: node --import tsx loadtest/bench-failover.ts [--runs 10]', { options: { runs: { type: 'string', default: '10' } } });
const runs = Number(values.runs);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = await mkdtemp(path.join(os.tmpdir(), 'parley-bench-'));
const nats = await startNatsServer({ storeDir: dir });
const fake = await startFakeOpenAI();
fake.transcription = { text: 'a slow transcript', delayMs: 6_000 };
const stages = await startTestPlatform({ natsUrl: nats.url, roles: ['persist', 'llm', 'tts'] });
const nc = await connect({ servers: nats.url });
const leases = await new Kvm(jetstream(nc)).open('parley_leases');
const env = { NATS_URL: nats.url, PARLEY_LOG_LEVEL: process.env['BENCH_DEBUG'] ? 'debug' : 'info', PARLEY_API_KEYS: `${TEST_KEY}:t`, PARLEY_STT_ENGINE: 'openai', PARLEY_STT_BASE_URL: fake.baseURL, PARLEY_STT_API_KEY: 'x' };
const role = async (name: string, args: string[], ready: RegExp) => {
  const p = await startRole(name, args, env);
  await p.waitFor(ready);
  return p;
};
const holder = async (p: number) => {
  const e = await leases.get(`vad.${p}`);
  return e?.operation === 'PUT' ? e.string() : '';
};

function wsOpen(port: number, query: string): Promise<{ ws: WebSocket; first: Promise<Record<string, unknown>>; events: Array<Record<string, unknown>> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/realtime${query}`, { headers: { Authorization: `Bearer ${TEST_KEY}` } });
  const events: Array<Record<string, unknown>> = [];
  const first = new Promise<Record<string, unknown>>((resolve) => ws.once('message', (d) => resolve(JSON.parse(d.toString()) as Record<string, unknown>)));
  ws.on('message', (d) => events.push(JSON.parse(d.toString()) as Record<string, unknown>));
  ws.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, first, events }));
    ws.once('error', reject);
  });
}

const results: Record<string, number[]> = { 'vad takeover': [], 'stt takeover': [], restore: [] };
let vadWorkers: RoleProcess[] = [await role('vad-1', ['stage', 'vad'], /vad stage started/), await role('vad-2', ['stage', 'vad'], /vad stage started/)];
let sttWorker: RoleProcess = await role('stt-1', ['stage', 'stt'], /stt stage started/);
let gateways: RoleProcess[] = [];
const gatewayPort = async (p: RoleProcess) => Number(/"port":(\d+)[^\n]*gateway listening/.exec(await p.waitFor(/"port":\d+[^\n]*gateway listening/))![0].match(/"port":(\d+)/)![1]);
gateways = [await role('gw-1', ['gateway'], /gateway listening/), await role('gw-2', ['gateway'], /gateway listening/)];

for (let run = 0; run < runs; run++) {
  // VAD: the owner of a live session's partition dies.
  const [a, b] = gateways as [RoleProcess, RoleProcess];
  const c = await wsOpen(await gatewayPort(a), '?model=gpt-realtime');
  const sid = ((await c.first)['session'] as { id: string }).id;
  const p = partitionOf(sid, 16);
  const ownerName = await holder(p);
  const victim = vadWorkers.find((w) => w.name === ownerName) ?? vadWorkers[0]!;
  const killed = performance.now();
  await victim.kill('SIGKILL');
  for (let h = await holder(p); h === victim.name || h === '' || h === 'released'; h = await holder(p)) await sleep(50);
  results['vad takeover']!.push(performance.now() - killed);
  if (process.env['BENCH_DEBUG']) {
    process.stdout.write(`vad: partition ${p} ${ownerName} -> ${await holder(p)} after ${(performance.now() - killed).toFixed(0)} ms\n`);
    const survivor = vadWorkers.find((w) => w !== victim)!;
    process.stdout.write(survivor.output().split('\n').filter((l) => l.includes('replay range')).slice(-4).join('\n') + '\n');
  }
  vadWorkers = [...vadWorkers.filter((w) => w !== victim), await role(`vad-r${run}`, ['stage', 'vad'], /vad stage started/)];

  // Restore: the session's gateway dies; the client resumes on the other one.
  c.ws.send(JSON.stringify({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: `run ${run}` }] } }));
  await sleep(200);
  await a.kill('SIGKILL');
  const t0 = performance.now();
  const r = await wsOpen(await gatewayPort(b), `?model=gpt-realtime&session_id=${sid}`);
  await r.first;
  results.restore!.push(performance.now() - t0);
  r.ws.close(1000);
  gateways = [b, await role(`gw-r${run}`, ['gateway'], /gateway listening/)];

  // STT: the only worker takes a job (the fake transcriber takes 6 s), a standby joins, the first dies.
  const s = await wsOpen(await gatewayPort(gateways[0]!), '?model=gpt-realtime');
  await s.first;
  s.ws.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'], audio: { input: { transcription: { model: 'whisper-1' }, turn_detection: null } } } }));
  const before = fake.requests.filter((q) => q.path.endsWith('/audio/transcriptions')).length;
  s.ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.alloc(24_000).toString('base64') }));
  s.ws.send(JSON.stringify({ type: 'input_audio_buffer.commit' }));
  while (fake.requests.filter((q) => q.path.endsWith('/audio/transcriptions')).length === before) await sleep(20);
  const standby = await role(`stt-r${run}`, ['stage', 'stt'], /stt stage started/);
  const k = performance.now();
  await sttWorker.kill('SIGKILL');
  while (!s.events.some((e) => e['type'] === 'conversation.item.input_audio_transcription.completed')) await sleep(20);
  // Minus the engine's own 6 s on the second attempt: what remains is the takeover.
  results['stt takeover']!.push(performance.now() - k - 6_000);
  s.ws.close(1000);
  sttWorker = standby;
  process.stdout.write(`run ${run + 1}/${runs} done\n`);
}

const q = (xs: number[], f: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(f * xs.length))] ?? NaN;
process.stdout.write(`\nfailover (ms), ${runs} runs\nwhat            n   median      max\n`);
for (const [name, xs] of Object.entries(results)) {
  process.stdout.write(`${name.padEnd(14)} ${String(xs.length).padStart(3)} ${q(xs, 0.5).toFixed(0).padStart(8)} ${Math.max(...xs).toFixed(0).padStart(8)}\n`);
}
await Promise.all([...vadWorkers, sttWorker, ...gateways].map((w) => w.kill('SIGKILL')));
await nc.close();
await stages.stop();
await fake.close();
await nats.stop();
await rm(dir, { recursive: true, force: true });
