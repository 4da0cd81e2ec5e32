// TTS through any OpenAI-compatible `/v1/audio/speech` endpoint (OpenAI, Kokoro-FastAPI, speaches)
// with the official `openai` package, asking for raw 24 kHz PCM and streaming the body as it comes.
import OpenAI from 'openai';
import { CancelledError, EngineError, isRetryableStatus } from '../../lib/errors.ts';
import type { TtsEngine } from './engine.ts';

export function createOpenAiTtsEngine(opts: { baseUrl: string | undefined; apiKey: string | undefined; model: string; timeoutMs: number }): TtsEngine {
  const client = new OpenAI({ baseURL: opts.baseUrl, apiKey: opts.apiKey ?? 'unused', timeout: opts.timeoutMs, maxRetries: 0 });
  return {
    name: 'openai',
    capabilities: { streaming: true, sampleRate: 24_000, voices: 'any' },
    async *synthesize(req) {
      let body: ReadableStream<Uint8Array> | null;
      try {
        const res = await client.audio.speech.create(
          { model: opts.model, voice: req.voice, input: req.text, response_format: 'pcm', speed: req.speed },
          { signal: req.signal },
        );
        body = res.body;
      } catch (err) {
        throw mapError(err, req.signal);
      }
      if (!body) throw new EngineError('openai-tts', 'empty_body', 'the speech endpoint returned no audio');
      try {
        for await (const piece of body as unknown as AsyncIterable<Uint8Array>) yield piece;
      } catch (err) {
        throw mapError(err, req.signal);
      }
      if (req.signal.aborted) throw new CancelledError();
    },
    close: async () => undefined,
  };
}

function mapError(err: unknown, signal: AbortSignal): Error {
  if (signal.aborted) return new CancelledError();
  const status = err instanceof OpenAI.APIError ? err.status : undefined;
  return new EngineError('openai-tts', status ? `upstream_${status}` : 'upstream_unreachable', `speech request failed: ${(err as Error).message}`, {
    retryable: isRetryableStatus(status),
    cause: err,
  });
}
