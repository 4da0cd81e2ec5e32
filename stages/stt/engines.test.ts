// STT engines: PocketSphinx (the real Debian binary) on espeak-ng speech, and the OpenAI-compatible
// engine against a fake provider speaking the real multipart protocol.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeOpenAI, type FakeOpenAI } from '../../test/support/fake-openai.ts';
import { synthesizeSpeech } from '../../test/support/speech.ts';
import { CancelledError, EngineError } from '../../lib/errors.ts';
import { createPocketsphinxEngine } from './pocketsphinx-engine.ts';
import { createOpenAiSttEngine } from './openai-engine.ts';

let fake: FakeOpenAI;
before(async () => {
  fake = await startFakeOpenAI();
});
after(() => fake.close());

const req = (audio: Uint8Array, signal = new AbortController().signal) => ({ audio, sampleRate: 24_000, language: null, prompt: null, model: null, signal });

describe('pocketsphinx STT engine', () => {
  it('recognizes words of real speech', async () => {
    const engine = createPocketsphinxEngine({ timeoutMs: 20_000, warm: 1 });
    try {
      const { text } = await engine.transcribe(req(await synthesizeSpeech('What is the weather like today?')));
      assert.match(text, /weather/, `transcript: ${text}`);
    } finally {
      await engine.close();
    }
  });

  it('returns an empty transcript for silence, and can be cancelled', async () => {
    const engine = createPocketsphinxEngine({ timeoutMs: 20_000, warm: 1 });
    try {
      assert.equal((await engine.transcribe(req(new Uint8Array(48_000)))).text, '');
      const ac = new AbortController();
      const pending = engine.transcribe(req(await synthesizeSpeech('This will be cancelled before it finishes.'), ac.signal));
      ac.abort();
      await assert.rejects(pending, CancelledError);
    } finally {
      await engine.close();
    }
  });

  it('reports a missing binary clearly and not as retryable', async () => {
    const engine = createPocketsphinxEngine({ timeoutMs: 5_000, binary: 'no-such-pocketsphinx', warm: 0 });
    await assert.rejects(engine.transcribe(req(new Uint8Array(4_800))), (err: unknown) => err instanceof EngineError && err.code === 'engine_unavailable' && !err.retryable);
  });
});

describe('openai STT engine', () => {
  it('uploads a WAV with model, language and prompt and returns the text', async () => {
    fake.transcription = { text: ' hello world ' };
    const engine = createOpenAiSttEngine({ baseUrl: fake.baseURL, apiKey: 'k', model: 'whisper-1', timeoutMs: 5_000 });
    const { text } = await engine.transcribe({ ...req(new Uint8Array(9_600)), language: 'en', prompt: 'names: Parley' });
    assert.equal(text, 'hello world');
    const body = fake.requests.at(-1)!.body.toString('latin1');
    assert.match(body, /name="model"\r\n\r\nwhisper-1/);
    assert.match(body, /name="language"\r\n\r\nen/);
    assert.match(body, /name="prompt"\r\n\r\nnames: Parley/);
    assert.match(body, /RIFF/);
  });

  it('maps failures: 503 retryable, 400 not', async () => {
    const engine = createOpenAiSttEngine({ baseUrl: fake.baseURL, apiKey: 'k', model: 'whisper-1', timeoutMs: 5_000 });
    for (const [status, retryable] of [[503, true], [400, false]] as const) {
      fake.transcription = { text: '', status };
      await assert.rejects(engine.transcribe(req(new Uint8Array(9_600))), (err: unknown) => err instanceof EngineError && err.retryable === retryable);
    }
    fake.transcription = { text: 'ok' };
  });
});
