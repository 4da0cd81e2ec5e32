// STT through any OpenAI-compatible `/v1/audio/transcriptions` endpoint (OpenAI, Groq, speaches /
// faster-whisper, whisper.cpp server) with the official `openai` package. Retries are ours (the
// job consumer's), so the SDK's own are off.
import OpenAI, { toFile } from 'openai';
import { encodeWav } from '../../lib/audio/index.ts';
import { CancelledError, EngineError, isRetryableStatus } from '../../lib/errors.ts';
import type { SttEngine } from './engine.ts';

export function createOpenAiSttEngine(opts: { baseUrl: string | undefined; apiKey: string | undefined; model: string; timeoutMs: number }): SttEngine {
  const client = new OpenAI({ baseURL: opts.baseUrl, apiKey: opts.apiKey ?? 'unused', timeout: opts.timeoutMs, maxRetries: 0 });
  return {
    name: 'openai',
    capabilities: { streaming: false, languages: 'any' },
    async transcribe(req) {
      const file = await toFile(encodeWav(req.audio, req.sampleRate), 'audio.wav', { type: 'audio/wav' });
      try {
        const res = await client.audio.transcriptions.create(
          {
            file,
            model: req.model ?? opts.model,
            ...(req.language ? { language: req.language } : {}),
            ...(req.prompt ? { prompt: req.prompt } : {}),
            response_format: 'json',
          },
          { signal: req.signal },
        );
        return { text: res.text.trim() };
      } catch (err) {
        if (req.signal.aborted) throw new CancelledError();
        const status = err instanceof OpenAI.APIError ? err.status : undefined;
        throw new EngineError('openai-stt', status ? `upstream_${status}` : 'upstream_unreachable', `transcription request failed: ${(err as Error).message}`, {
          retryable: isRetryableStatus(status),
          cause: err,
        });
      }
    },
    close: async () => undefined,
  };
}
