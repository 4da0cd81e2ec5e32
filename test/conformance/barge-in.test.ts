// [conformance] Barge-in, measured, and turn detection. A GA SDK client streams a real-time
// microphone (espeak speech, silence between); the fake provider streams the answer in timed
// sentences and the TTS audio at real-time pace, so a response is still producing audio when the
// user talks over it. Measured per barge-in: user speech start -> speech_started, -> last audio delta
// of the cancelled response, -> response.done; and, through a proxy in front of the provider, when
// the LLM stream and TTS download were abandoned. The gateway's parley_cancel_seconds histogram
// (cancel published -> LLM/TTS work aborted) is read from /metrics.
import { after, afterEach, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { silence, synthesizeSpeech } from '../support/speech.ts';
import { seededRandom } from '../support/random.ts';
import { connectSdk, isSorted, orderOf, type Conn, type Ev } from './support/clients.ts';
import { Conformance } from './support/recorder.ts';
import { update } from './support/session.ts';
import { Microphone, median, readHistogram, startAbortWatch, type AbortWatch } from './support/timing.ts';

const rec = new Conformance('barge-in');
const BARGE_INS = 6;
let fake: FakeOpenAI;
let watch: AbortWatch;
let platform: TestPlatform;
let utterances: Uint8Array[];
const open_: Array<{ c: Conn; mic: Microphone }> = [];

const SLOW_ANSWER = [{ text: 'Here is the first sentence of a long answer. ' }, { text: 'A second sentence follows later. ', delayMs: 2_500 }, { text: 'And a third one.', delayMs: 2_500 }];
const PACED_SPEECH = { ms: 3_000, chunkBytes: 4_800, delayMs: 100 }; // 3 s of audio per sentence, streamed in real time

before(async () => {
  fake = await startFakeOpenAI();
  watch = await startAbortWatch(fake.baseURL);
  platform = await startTestPlatform({ env: { OPENAI_BASE_URL: watch.baseURL, OPENAI_API_KEY: 'x', PARLEY_STT_ENGINE: 'openai', PARLEY_TTS_ENGINE: 'openai' } });
  utterances = await Promise.all(['What is the weather in Paris?', 'No wait, tell me about Rome.', 'Actually, what about Berlin?', 'Hold on, and Madrid?'].map((t) => synthesizeSpeech(t)));
});
afterEach(async () => {
  for (const { c, mic } of open_.splice(0)) {
    await mic.stop();
    await c.close();
  }
});
after(async () => {
  await platform?.stop();
  await watch?.close();
  await fake?.close();
});

async function open(td: Record<string, unknown>): Promise<{ c: Conn; mic: Microphone }> {
  const c = await connectSdk(platform, rec.current);
  await c.waitFor('session.created');
  await update(c, { audio: { input: { transcription: { model: 'whisper-1' }, turn_detection: td } } });
  const mic = new Microphone(c);
  mic.start();
  open_.push({ c, mic });
  return { c, mic };
}

const round = (x: number) => Math.round(x);
const stats = (xs: number[]) => ({ n: xs.length, median_ms: round(median(xs)), max_ms: round(Math.max(...xs)), min_ms: round(Math.min(...xs)) });

describe('barge-in (server_vad, interrupt_response true)', () => {
  rec.test(`${BARGE_INS} barge-ins: each ends the running response (turn_detected) with its done events; audio stops; the client truncates at the played position`, async () => {
    fake.chat = SLOW_ANSWER;
    fake.speech = PACED_SPEECH;
    const { c, mic } = await open({ type: 'server_vad', silence_duration_ms: 500 });
    const random = seededRandom(7);
    const toLastAudio: number[] = [];
    const toSpeechStarted: number[] = [];
    const toDone: number[] = [];
    const staleAudioMs: number[] = [];
    const llmStops: number[] = [];
    const ttsStops: number[] = [];
    let from = c.mark();
    void mic.say(utterances[0]!);
    for (let i = 0; i < BARGE_INS; i++) {
      const created = await c.waitFor('response.created', () => true, { from, timeoutMs: 20_000 });
      const id = created['response'].id as string;
      const firstAudio = await c.waitFor('response.output_audio.delta', (e) => e['response_id'] === id, { from, timeoutMs: 20_000 });
      const firstAudioAt = c.events.find((e) => e.ev === firstAudio)!.at;
      await new Promise((r) => setTimeout(r, 300 + random() * 500));
      const nextFrom = c.mark();
      const speechAt = await mic.say(utterances[1 + (i % 3)]!).started;
      const started = await c.waitFor('input_audio_buffer.speech_started', () => true, { from: nextFrom, timeoutMs: 10_000 });
      const done = await c.waitFor('response.done', (e) => e['response'].id === id, { from, timeoutMs: 10_000 });
      const at = (e: Ev) => c.events.find((x) => x.ev === e)!.at;
      assert.equal(done['response'].status, 'cancelled', `barge-in ${i}`);
      assert.deepEqual(done['response'].status_details, { type: 'cancelled', reason: 'turn_detected' });
      const mine = (e: Ev) => e['response_id'] === id || e['response']?.id === id;
      assert.ok(isSorted(orderOf(c, ['input_audio_buffer.speech_started', ['response.output_audio.done', mine], ['response.output_audio_transcript.done', mine], ['response.content_part.done', mine], ['conversation.item.done', (e) => e['item'].id === done['response'].output[0].id], ['response.output_item.done', mine], ['response.done', mine]], nextFrom)), c.types(nextFrom).join(', '));
      assert.equal(done['response'].output[0].status, 'incomplete');
      const deltas = c.events.filter((e) => e.ev.type === 'response.output_audio.delta' && e.ev['response_id'] === id);
      const lastDeltaAt = deltas.at(-1)!.at;
      assert.ok(lastDeltaAt <= at(started), 'no audio of the cancelled response after speech_started');
      toSpeechStarted.push(at(started) - speechAt);
      toLastAudio.push(lastDeltaAt - speechAt);
      toDone.push(at(done) - speechAt);
      staleAudioMs.push(deltas.filter((e) => e.at > speechAt).reduce((n, e) => n + Buffer.from(e.ev['delta'], 'base64').length / 48, 0));
      // The provider requests that were running when the cancel went out must be abandoned.
      const cancelAt = at(started);
      const running = watch.requests.filter((q) => q.startedAt < cancelAt && (q.endedAt ?? Infinity) > cancelAt && (q.abortedAt ?? Infinity) > cancelAt);
      for (const wait = performance.now() + 1_000; running.some((r) => r.abortedAt === undefined) && performance.now() < wait; ) await new Promise((r) => setTimeout(r, 10));
      for (const r of running) {
        assert.ok(r.abortedAt !== undefined, `${r.path} running at the cancel was abandoned within 1 s`);
        (r.path.endsWith('/chat/completions') ? llmStops : ttsStops).push(r.abortedAt - cancelAt);
      }
      // Playback started with the first delta; the user heard until speech_started (at most what arrived).
      const receivedMs = deltas.reduce((n, e) => n + Buffer.from(e.ev['delta'], 'base64').length, 0) / 48;
      const played = Math.floor(Math.min(receivedMs, cancelAt - firstAudioAt));
      const item = done['response'].output[0];
      const t = c.mark();
      c.send({ type: 'conversation.item.truncate', item_id: item.id, content_index: 0, audio_end_ms: played });
      assert.equal((await c.waitFor('conversation.item.truncated', () => true, { from: t }))['audio_end_ms'], played);
      c.send({ type: 'conversation.item.retrieve', item_id: item.id });
      const kept = (await c.waitFor('conversation.item.retrieved', () => true, { from: t }))['item'].content[0].transcript as string;
      assert.ok(item.content[0].transcript.startsWith(kept) && kept.length <= item.content[0].transcript.length, `kept "${kept}" after ${played} ms`);
      from = nextFrom;
    }
    await mic.stop();
    rec.figures['barge_in_speech_start_to_speech_started'] = stats(toSpeechStarted);
    rec.figures['barge_in_speech_start_to_last_audio_delta'] = stats(toLastAudio);
    rec.figures['barge_in_speech_start_to_response_done'] = stats(toDone);
    rec.figures['barge_in_audio_ms_delivered_after_speech_start'] = stats(staleAudioMs);
    rec.figures['cancel_to_llm_stream_aborted_at_provider'] = llmStops.length ? stats(llmStops) : 'no LLM stream in flight at a cancel';
    rec.figures['cancel_to_tts_download_aborted_at_provider'] = ttsStops.length ? stats(ttsStops) : 'no TTS download in flight at a cancel';
    assert.ok(toLastAudio.length >= 5);
    assert.ok(Math.max(...toLastAudio) < 1_500, `speech start -> last audio delta: ${toLastAudio.map(round).join(', ')} ms`);
    await c.close();
  }, { timeout: 120_000 });

  // The behaviour asserted: every cancel reached the running LLM and TTS work and aborted it (within
  // 1 s, so it was the cancel and not the job's own end). The 50 ms budget (cancel published ->
  // work aborted, bus delivery included) is a figure of this report, not an assertion: on a loaded
  // 2-vCPU CI host one cancel in a run has been delivered late (house rule: speed is shown by
  // figures, not timed tests).
  rec.test('cancel -> LLM/TTS work aborted (parley_cancel_seconds on the gateway /metrics; budget 50 ms, reported)', async () => {
    const text = await (await fetch(`${platform.httpBase}/metrics`)).text();
    const figures: Record<string, unknown> = {};
    for (const stage of ['llm', 'tts']) {
      const h = readHistogram(text, 'parley_cancel_seconds', { stage });
      const within = (le: number) => h.buckets.find((b) => b.le === le)?.count ?? 0;
      const worstBound = h.buckets.find((b) => b.count === h.count)?.le;
      figures[stage] = { count: h.count, mean_ms: h.count ? round((h.sum / h.count) * 1000 * 10) / 10 : null, within_50ms: within(0.05), max_bucket_le_ms: worstBound === undefined ? null : worstBound * 1000 };
      assert.ok(h.count > 0, `${stage}: cancels were observed`);
      assert.equal(within(1), h.count, `${stage}: every cancel aborted the running work within 1 s`);
    }
    rec.figures['parley_cancel_seconds'] = figures;
  });
});

describe('turn detection', () => {
  rec.test('interrupt_response false: speech during a response fires speech_started but the response completes; audio_start_ms on the input timeline; voice and speed reach TTS', async () => {
    fake.chat = [{ text: 'Short answer. ' }, { text: 'Still going.', delayMs: 1_500 }];
    fake.speech = { ms: 600, chunkBytes: 4_800 };
    const { c, mic } = await open({ type: 'server_vad', silence_duration_ms: 500, interrupt_response: false });
    await update(c, { audio: { output: { voice: 'coral', speed: 1.3 } } });
    const reqFrom = fake.requests.length;
    const from = c.mark();
    void mic.say(silence(1_000));
    const offsetMs = await mic.say(utterances[0]!).offsetMs;
    const heard = await c.waitFor('input_audio_buffer.speech_started', () => true, { from });
    // server_vad reports the start prefix_padding_ms (300) before the first voiced frame.
    assert.ok(Math.abs(heard['audio_start_ms'] - (offsetMs - 300)) <= 100, `audio_start_ms ${heard['audio_start_ms']} for speech at ${offsetMs.toFixed(0)} ms of input`);
    const created = await c.waitFor('response.created', () => true, { from, timeoutMs: 20_000 });
    await c.waitFor('response.output_audio.delta', () => true, { from });
    const barge = c.mark();
    await mic.say(utterances[1]!).started;
    await c.waitFor('input_audio_buffer.speech_started', () => true, { from: barge });
    const done = await c.waitFor('response.done', (e) => e['response'].id === created['response'].id, { from });
    assert.equal(done['response'].status, 'completed');
    await c.waitFor('response.created', (e) => e['response'].id !== created['response'].id, { from: barge, timeoutMs: 20_000 });
    const tts = fake.requests.slice(reqFrom).filter((r) => r.path.endsWith('/audio/speech')).map((r) => JSON.parse(r.body.toString()) as Ev);
    assert.ok(tts.length > 0 && tts.every((b) => b['voice'] === 'coral' && b['speed'] === 1.3), JSON.stringify(tts.map((b) => [b['voice'], b['speed']])));
    await mic.stop();
    await c.close();
  });

  rec.test('semantic_vad (eagerness high) ends the turn and creates a response; idle_timeout_ms: timeout_triggered -> committed -> a response', async () => {
    fake.chat = [{ text: 'Okay.' }];
    fake.speech = { ms: 300, chunkBytes: 4_800 };
    const { c, mic } = await open({ type: 'semantic_vad', eagerness: 'high' });
    const from = c.mark();
    await mic.say(utterances[0]!).ended;
    const committed = await c.waitFor('input_audio_buffer.committed', () => true, { from, timeoutMs: 10_000 });
    const first = await c.waitFor('response.done', () => true, { from, timeoutMs: 20_000 });
    assert.ok(isSorted(orderOf(c, ['input_audio_buffer.speech_started', 'input_audio_buffer.speech_stopped', 'input_audio_buffer.committed', 'response.created'], from)));
    assert.ok(c.events.find((e) => e.ev === committed)!.at < c.events.find((e) => e.ev === first)!.at);
    await update(c, { audio: { input: { turn_detection: { type: 'server_vad', idle_timeout_ms: 5_000 } } } });
    const idle = c.mark();
    c.send({ type: 'response.create', response: { output_modalities: ['text'] } });
    const answered = await c.waitFor('response.done', () => true, { from: idle });
    const fired = await c.waitFor('input_audio_buffer.timeout_triggered', () => true, { from: idle, timeoutMs: 12_000 });
    const waited = c.events.find((e) => e.ev === fired)!.at - c.events.find((e) => e.ev === answered)!.at;
    assert.ok(waited >= 4_900 && waited < 7_000, `timeout after ${waited.toFixed(0)} ms of silence`);
    assert.ok(typeof fired['item_id'] === 'string' && fired['audio_end_ms'] >= fired['audio_start_ms']);
    const item = (await c.waitFor('input_audio_buffer.committed', () => true, { from: idle }))['item_id'];
    assert.equal(item, fired['item_id']);
    await c.waitFor('response.created', () => true, { from: c.events.findIndex((e) => e.ev === fired) });
    await mic.stop();
    await c.close();
  }, { timeout: 60_000 });
});
