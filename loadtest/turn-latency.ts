// Bench: end of speech -> first audio delta, split into its phases, over N spoken turns against an
// embedded Parley with the offline engines (Silero VAD, pocketsphinx, echo LLM, espeak-ng).
// Phases, measured at the client from Realtime events:
//   vad = end of voiced audio sent -> input_audio_buffer.speech_stopped   (includes silence_duration_ms)
//   stt = speech_stopped -> input_audio_transcription.completed
//   llm = transcription completed -> first response transcript delta
//   tts = first transcript delta -> first response audio delta
import { benchArgs } from './bench-args.ts';
import { startTestPlatform, TEST_KEY } from '../test/support/platform.ts';
import { connectRealtime } from '../test/support/realtime-client.ts';
import { silence, synthesizeSpeech, voicedRange } from '../test/support/speech.ts';

const { values } = benchArgs('Usage: node --import tsx loadtest/turn-latency.ts [--turns 10] [--silence-ms 500]', { options: { turns: { type: 'string', default: '10' }, 'silence-ms': { type: 'string', default: '500' } } });
const turns = Number(values.turns);
const silenceMs = Number(values['silence-ms']);

const sentences = [
  'Hello, what is the weather like today in Paris?',
  'Please book a table for two at eight tonight.',
  'How long does it take to fly to Tokyo?',
  'Tell me a short story about a brave little cat.',
  'What time does the train to Berlin leave?',
];

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

const platform = await startTestPlatform();
const client = await connectRealtime({ baseURL: platform.wssBase, apiKey: TEST_KEY, certFile: platform.certFile });
await client.waitFor('session.created');
client.send({
  type: 'session.update',
  session: { type: 'realtime', audio: { input: { transcription: { model: 'whisper-1' }, turn_detection: { type: 'server_vad', silence_duration_ms: silenceMs } } } },
});
await client.waitFor('session.updated');

const phases: Record<'vad' | 'stt' | 'llm' | 'tts' | 'total', number[]> = { vad: [], stt: [], llm: [], tts: [], total: [] };
for (let t = 0; t < turns; t++) {
  const speech = await synthesizeSpeech(sentences[t % sentences.length]!);
  const voiced = voicedRange(speech)!;
  const from = client.events.length;
  const started = performance.now();
  await client.streamAudio(speech, { chunkMs: 40 });
  const speechEnd = started + (voiced.end / 24_000) * 1000;
  await client.streamAudio(silence(1_500), { chunkMs: 40 });
  const done = await client.waitFor('response.done', (e) => client.events.findIndex((x) => x.event === e) >= from, 30_000);
  void done;
  const at = (type: string) => client.events.slice(from).find((e) => e.event.type === type)?.at ?? NaN;
  const stopped = at('input_audio_buffer.speech_stopped');
  const transcribed = at('conversation.item.input_audio_transcription.completed');
  const firstText = at('response.output_audio_transcript.delta');
  const firstAudio = at('response.output_audio.delta');
  phases.vad.push(stopped - speechEnd);
  phases.stt.push(transcribed - stopped);
  phases.llm.push(firstText - transcribed);
  phases.tts.push(firstAudio - firstText);
  phases.total.push(firstAudio - speechEnd);
  process.stdout.write(`turn ${t + 1}/${turns}: end of speech -> first audio ${(firstAudio - speechEnd).toFixed(0)} ms\n`);
  await new Promise((r) => setTimeout(r, 300));
}
await client.close();
await platform.stop();

process.stdout.write(`\nend of speech -> first audio delta, ${turns} turns, silence_duration_ms=${silenceMs} (ms)\n`);
process.stdout.write('phase    median     p90     min     max\n');
for (const [name, xs] of Object.entries(phases)) {
  const f = (v: number) => v.toFixed(1).padStart(7);
  process.stdout.write(`${name.padEnd(6)} ${f(quantile(xs, 0.5))} ${f(quantile(xs, 0.9))} ${f(Math.min(...xs))} ${f(Math.max(...xs))}\n`);
}
