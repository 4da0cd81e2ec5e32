// The VAD stage's detection on real audio: espeak-ng speech with pauses must be found where it is
// (within 100 ms at both ends), and silence or low noise must never be called speech. Runs the real
// Silero v5 model through the same SessionVad the stage uses, fed in 40 ms appends, at both of the
// model's rates (PARLEY_VAD_SAMPLE_RATE): 8 kHz must detect as well as 16 kHz to be offered.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildUtteranceTrack, silence, whiteNoise } from '../../test/support/speech.ts';
import { concatBytes } from '../../lib/audio/index.ts';
import { createSileroEngine, SILERO_RATES, type VadEngine } from './silero-engine.ts';
import { SessionVad, type VadAction } from './session-vad.ts';
import type { OutboxEvent } from '../../schemas/index.ts';

const PREFIX_MS = 300;
const SILENCE_MS = 500;
const TOLERANCE_MS = 100;

/** Frames that went through Silero in the last runVad (silent ones below the floor do not). */
let inferred = 0;

async function runVad(engine: VadEngine, pcm: Uint8Array, silenceFloorDbfs = -60): Promise<VadAction[]> {
  const vad = new SessionVad('sess_test', 'gw', engine, { maxBufferMs: 120_000, maxUtteranceMs: 60_000, silenceFloorDbfs });
  inferred = 0;
  vad.applyControl({
    op: 'config',
    tenantId: 't',
    transcription: null,
    turnDetection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: PREFIX_MS, silence_duration_ms: SILENCE_MS, idle_timeout_ms: null, create_response: true, interrupt_response: true },
  });
  const actions: VadAction[] = [];
  const chunk = 24 * 40 * 2;
  for (let at = 0; at < pcm.length; at += chunk) {
    vad.appendAudio(pcm.subarray(at, Math.min(pcm.length, at + chunk)), at / 2, () => undefined);
    while (vad.frames.length) {
      const frame = vad.frames.shift()!;
      const prob = frame.silent ? 0 : (await engine.inferBatch([{ state: vad.vadState, frame: frame.frame }]))[0]!;
      if (!frame.silent) inferred++;
      actions.push(...vad.applyProbability(prob, frame));
    }
  }
  return actions;
}

const events = (actions: VadAction[]) => actions.filter((a): a is { type: 'event'; event: OutboxEvent } => a.type === 'event').map((a) => a.event);

for (const sampleRate of SILERO_RATES) describe(`VAD on real speech (Silero v5 at ${sampleRate} Hz)`, () => {
  let engine: VadEngine;
  before(async () => {
    engine = await createSileroEngine({ maxBatch: 64, sampleRate });
  });

  it('finds each spoken segment of a recording with pauses within 100 ms', async () => {
    const track = await buildUtteranceTrack([
      { silenceMs: 700 },
      { text: 'Hello there, how are you doing today?' },
      { silenceMs: 1_000 },
      { text: 'I would like to book a table for two people.' },
      { silenceMs: 1_300 },
      { text: 'Thank you very much.' },
      { silenceMs: 900 },
    ]);
    const actions = await runVad(engine, track.pcm16);
    const evs = events(actions);
    const starts = evs.filter((e) => e.kind === 'vad.speech_started');
    const stops = evs.filter((e) => e.kind === 'vad.speech_stopped');
    assert.equal(starts.length, track.segments.length, `speech_started count: ${JSON.stringify(evs)}`);
    assert.equal(stops.length, track.segments.length, 'speech_stopped count');
    track.segments.forEach((seg, i) => {
      const s = starts[i] as Extract<OutboxEvent, { kind: 'vad.speech_started' }>;
      const e = stops[i] as Extract<OutboxEvent, { kind: 'vad.speech_stopped' }>;
      const detectedStart = s.audioStartMs + PREFIX_MS;
      const detectedEnd = e.audioEndMs - SILENCE_MS;
      assert.ok(Math.abs(detectedStart - seg.startMs) <= TOLERANCE_MS, `segment ${i} start: detected ${detectedStart} vs true ${seg.startMs}`);
      assert.ok(Math.abs(detectedEnd - seg.endMs) <= TOLERANCE_MS, `segment ${i} end: detected ${detectedEnd} vs true ${seg.endMs}`);
    });
    // Each turn is committed with its audio: prefix padding + speech + the silence that ended it.
    const commits = actions.filter((a) => a.type === 'commit');
    assert.equal(commits.length, track.segments.length);
    for (const c of commits) {
      if (c.type !== 'commit') continue;
      assert.equal(c.audio.length / 48, c.audioEndMs - c.audioStartMs, 'committed audio length matches its ms range');
    }
  });

  it('calls nothing speech in 5 s of digital silence, without running the model', async () => {
    assert.deepEqual(events(await runVad(engine, silence(5_000))), []);
    assert.equal(inferred, 0);
  });

  it('finds the same turns with and without the silence floor, and infers only the sound', async () => {
    // Digital silence between the utterances (as a noise-suppressed microphone sends): the floor skips it.
    const track = await buildUtteranceTrack([{ silenceMs: 800 }, { text: 'Please call me back tomorrow.' }, { silenceMs: 1_200 }, { text: 'And bring the blue folder.' }, { silenceMs: 1_000 }]);
    const gated = events(await runVad(engine, track.pcm16, -60));
    const gatedInferred = inferred;
    const all = events(await runVad(engine, track.pcm16, -Infinity)); // no floor: every frame inferred
    const everyFrame = inferred;
    assert.equal(gated.length, 4, JSON.stringify(gated));
    assert.equal(gated.length, all.length, `${JSON.stringify(gated)} vs ${JSON.stringify(all)}`);
    const frameMs = (engine.frameSamples * 1000) / engine.sampleRate;
    gated.forEach((e, i) => {
      const o = all[i]!;
      assert.equal(e.kind, o.kind);
      const at = (x: OutboxEvent) => (x.kind === 'vad.speech_started' ? x.audioStartMs : x.kind === 'vad.speech_stopped' ? x.audioEndMs : NaN);
      assert.ok(Math.abs(at(e) - at(o)) <= 2 * frameMs, `event ${i} (${e.kind}): ${at(e)} ms with the floor vs ${at(o)} ms without`);
    });
    assert.ok(gatedInferred < everyFrame * 0.75, `inferred ${gatedInferred} of ${everyFrame} frames`);
  });

  it('calls nothing speech in 5 s of low white noise (-50 and -40 dBFS)', async () => {
    for (const level of [-50, -40]) {
      assert.deepEqual(events(await runVad(engine, whiteNoise(5_000, level))), [], `noise at ${level} dBFS`);
    }
  });

  it('still finds speech over low background noise', async () => {
    const track = await buildUtteranceTrack([{ silenceMs: 600 }, { text: 'Can you hear me over the noise?' }, { silenceMs: 900 }]);
    const noise = whiteNoise(track.pcm16.length / 48, -45);
    const mixed = new Uint8Array(track.pcm16.length);
    const a = new DataView(track.pcm16.buffer, track.pcm16.byteOffset, track.pcm16.byteLength);
    const b = new DataView(noise.buffer, noise.byteOffset, noise.byteLength);
    const out = new DataView(mixed.buffer);
    for (let i = 0; i < mixed.length; i += 2) out.setInt16(i, Math.max(-32768, Math.min(32767, a.getInt16(i, true) + b.getInt16(i, true))), true);
    const evs = events(await runVad(engine, concatBytes([mixed])));
    const starts = evs.filter((e) => e.kind === 'vad.speech_started') as Array<Extract<OutboxEvent, { kind: 'vad.speech_started' }>>;
    assert.equal(starts.length, 1, JSON.stringify(evs));
    assert.ok(Math.abs(starts[0]!.audioStartMs + PREFIX_MS - track.segments[0]!.startMs) <= TOLERANCE_MS);
  });

  it('gives the same probabilities batched across streams as one stream at a time', async () => {
    const track = await buildUtteranceTrack([{ text: 'Batching must not change the answer.' }]);
    const frames: Float32Array[] = [];
    const vad = new SessionVad('s', 'g', engine, { maxBufferMs: 60_000, maxUtteranceMs: 60_000, silenceFloorDbfs: -Infinity });
    vad.appendAudio(track.pcm16, 0, () => undefined);
    for (const f of vad.frames) frames.push(f.frame);
    const alone = engine.newState();
    const single: number[] = [];
    for (const f of frames) single.push((await engine.inferBatch([{ state: alone, frame: f }]))[0]!);
    // Three streams side by side: the same audio, silence, and the same audio again.
    const states = [engine.newState(), engine.newState(), engine.newState()];
    const quiet = new Float32Array(engine.frameSamples);
    const batched: number[] = [];
    for (const f of frames) {
      const probs = await engine.inferBatch([
        { state: states[0]!, frame: f },
        { state: states[1]!, frame: quiet },
        { state: states[2]!, frame: f },
      ]);
      batched.push(probs[0]!);
      assert.ok(Math.abs(probs[0]! - probs[2]!) < 1e-5);
    }
    single.forEach((p, i) => assert.ok(Math.abs(p - batched[i]!) < 1e-4, `frame ${i}: ${p} vs ${batched[i]}`));
    assert.ok(Math.max(...single) > 0.8, 'speech is detected at all');
  });
});
