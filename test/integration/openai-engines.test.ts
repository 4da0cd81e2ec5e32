// [integration] The OpenAI-compatible STT, LLM and TTS engines in the full pipeline (real NATS,
// real PostgreSQL), against a fake provider that speaks the real HTTP protocols. Shows that LLM
// tokens reach TTS a sentence at a time: the first audio leaves before the model has finished.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.ts';
import { startTestPlatform, TEST_KEY, type TestPlatform } from '../support/platform.ts';
import { connectRealtime } from '../support/realtime-client.ts';
import { silence, synthesizeSpeech } from '../support/speech.ts';

let fake: FakeOpenAI;
let platform: TestPlatform;

before(async () => {
  fake = await startFakeOpenAI();
  platform = await startTestPlatform({
    env: {
      OPENAI_BASE_URL: fake.baseURL,
      OPENAI_API_KEY: 'sk-fake-provider',
      PARLEY_STT_ENGINE: 'openai',
      PARLEY_TTS_ENGINE: 'openai',
      PARLEY_LLM_MODEL: 'fake-llm',
      PARLEY_JOB_MAX_DELIVER: '2',
    },
  });
});
after(async () => {
  await platform?.stop();
  await fake?.close();
});

async function spokenTurn() {
  const c = await connectRealtime({ baseURL: platform.wssBase, apiKey: TEST_KEY, certFile: platform.certFile });
  await c.waitFor('session.created');
  c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { transcription: { model: 'whisper-1' } } } } });
  await c.waitFor('session.updated');
  await c.streamAudio(await synthesizeSpeech('Tell me two things.'), { chunkMs: 40 });
  await c.streamAudio(silence(900), { chunkMs: 40 });
  return c;
}

describe('OpenAI-compatible engines in the pipeline', () => {
  it('streams sentence by sentence: first audio before the LLM has finished', async () => {
    fake.chat = [{ text: 'The first sentence is ready right away. ' }, { text: 'The second sentence comes much later.', delayMs: 1_500 }];
    fake.speech = { ms: 400, chunkBytes: 4_001 };
    fake.transcription = { text: 'tell me two things' };
    const c = await spokenTurn();
    const done = await c.waitFor('response.done', () => true, 20_000);
    const transcript = await c.waitFor('conversation.item.input_audio_transcription.completed');
    assert.equal(transcript['transcript'], 'tell me two things');
    const firstAudio = c.events.find((e) => e.event.type === 'response.output_audio.delta')!;
    assert.ok(firstAudio, 'audio arrived');
    assert.ok(firstAudio.at < fake.lastChatFinishedAt, `first audio ${(fake.lastChatFinishedAt - firstAudio.at).toFixed(0)} ms before the LLM finished`);
    const out = (done['response'] as { output: Array<{ content: Array<{ transcript: string }> }> }).output[0]!.content[0]!.transcript;
    assert.equal(out, 'The first sentence is ready right away. The second sentence comes much later.');
    // Two sentences, two speech requests, audio of both in order.
    const speech = fake.requests.filter((r) => r.path.endsWith('/audio/speech')).map((r) => JSON.parse(r.body.toString()).input as string);
    assert.deepEqual(speech.slice(-2), ['The first sentence is ready right away.', 'The second sentence comes much later.']);
    const audioBytes = c.events.filter((e) => e.event.type === 'response.output_audio.delta').reduce((n, e) => n + Buffer.from(e.event['delta'] as string, 'base64').length, 0);
    assert.equal(audioBytes, 2 * 400 * 48, 'all audio of both sentences');
    const chat = JSON.parse(fake.requests.filter((r) => r.path.endsWith('/chat/completions')).at(-1)!.body.toString());
    assert.equal(chat.model, 'fake-llm');
    assert.deepEqual(chat.messages.at(-1), { role: 'user', content: 'tell me two things' });
    await c.close();
  });

  it('degrades to text when TTS fails: the transcript still arrives and the response completes', async () => {
    fake.chat = [{ text: 'You will only read this.' }];
    fake.speech = { ms: 400, chunkBytes: 4_001, status: 500 };
    const c = await spokenTurn();
    const done = await c.waitFor('response.done', () => true, 20_000);
    assert.equal((done['response'] as { status: string }).status, 'completed');
    assert.ok(!c.types().includes('response.output_audio.delta'));
    const t = await c.waitFor('response.output_audio_transcript.done');
    assert.equal(t['transcript'], 'You will only read this.');
    fake.speech = { ms: 400, chunkBytes: 4_001 };
    await c.close();
  });

  it('reports an LLM failure as an error event and a failed response; the user transcript still arrives', async () => {
    fake.chat = [{ status: 400, error: 'model not found' }];
    const c = await spokenTurn();
    const done = await c.waitFor('response.done', () => true, 20_000);
    const r = done['response'] as { status: string; status_details: { error: { code: string } } };
    assert.equal(r.status, 'failed');
    assert.equal(r.status_details.error.code, 'upstream_400');
    const err = await c.waitFor('error');
    assert.equal((err['error'] as { type: string }).type, 'server_error');
    assert.ok(c.types().includes('conversation.item.input_audio_transcription.completed'));
    await c.close();
  });
});
