// ttsStage: one sentence per job. Synthesizes it through the configured engine and streams the
// audio to the session's gateway in numbered chunks (response, sentence, chunk), so sentences of one
// response can be synthesized by different workers at once and still play in order.
import type { ParleyConfig } from '../../lib/config.ts';
import { EngineError, ParleyError } from '../../lib/errors.ts';
import { startJobStage } from '../../lib/job-stage.ts';
import { publishOutbox, publishTtsAudio } from '../../lib/nats/outbox.ts';
import { PublishPipeline } from '../../lib/nats/publish-pipeline.ts';
import { metrics } from '../../lib/metrics.ts';
import type { Stage, StageDeps } from '../../lib/stage.ts';
import { ATTR } from '../../lib/tracing.ts';
import { validators, type TtsJob } from '../../schemas/index.ts';
import { rechunk, type TtsEngine } from './engine.ts';
import { createEspeakEngine } from './espeak-engine.ts';
import { createOpenAiTtsEngine } from './openai-engine.ts';
import { createNullTtsEngine } from './null-engine.ts';

export type { TtsEngine, TtsRequest } from './engine.ts';

/** 100 ms of 24 kHz PCM16 per outbox message. */
const CHUNK_BYTES = 4_800;

export const ttsEngines = {
  espeak: (c: ParleyConfig) => createEspeakEngine({ timeoutMs: c.tts.timeoutMs }),
  openai: (c: ParleyConfig) => createOpenAiTtsEngine({ baseUrl: c.tts.baseUrl, apiKey: c.tts.apiKey, model: c.tts.model, timeoutMs: c.tts.timeoutMs }),
  null: (c: ParleyConfig) => createNullTtsEngine({ delayMs: c.nullEngineDelayMs }),
} satisfies Record<ParleyConfig['tts']['engine'], (c: ParleyConfig) => TtsEngine>;

export async function startTtsStage(deps: StageDeps, engineOverride?: TtsEngine): Promise<Stage> {
  const { bus, config } = deps;
  const engine = engineOverride ?? ttsEngines[config.tts.engine](config);

  async function speak(job: TtsJob, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    let chunks = 0;
    let bytes = 0;
    const target = { gatewayId: job.gatewayId, sessionId: job.sessionId, responseId: job.responseId, sentence: job.sentence };
    const out = new PublishPipeline({ signal }); // chunks go out without a PubAck round trip each
    try {
      for await (const pcm of rechunk(engine.synthesize({ text: job.text, voice: job.voice, speed: job.speed, signal }), CHUNK_BYTES)) {
        if (chunks === 0) metrics.engineFirstOutputSeconds.observe({ stage: 'tts', engine: engine.name }, (performance.now() - started) / 1000);
        await out.add(publishTtsAudio(bus, { ...target, chunk: chunks }, pcm, signal));
        chunks++;
        bytes += pcm.length;
      }
      await out.drain(); // sentence_done announces the chunk count: every chunk is stored first
    } catch (err) {
      if (err instanceof EngineError) metrics.engineErrors.inc({ stage: 'tts', engine: engine.name, code: err.code });
      // Part of the sentence is already out: report the failure now rather than replaying it.
      if (chunks > 0 && err instanceof ParleyError && err.retryable) {
        throw new EngineError(engine.name, err.code, err.message, { retryable: false, cause: err });
      }
      throw err;
    }
    const audioMs = bytes / 48;
    const seconds = (performance.now() - started) / 1000;
    if (seconds > 0 && audioMs > 0) metrics.ttsRealtimeFactor.observe({ engine: engine.name }, audioMs / 1000 / seconds);
    await publishOutbox(
      bus,
      target,
      { kind: 'tts.sentence_done', responseId: job.responseId, sentence: job.sentence, chunks, audioMs },
      `tts:${job.responseId}:${job.sentence}:done`,
    );
  }

  return startJobStage<TtsJob>({
    deps,
    stage: 'tts',
    engine,
    validator: validators.ttsJob,
    concurrency: config.tts.concurrency,
    responseOf: (job) => job.responseId,
    describe: (job) => ({ [ATTR.session]: job.sessionId, [ATTR.response]: job.responseId, [ATTR.sentence]: job.sentence, [ATTR.engine]: engine.name }),
    handle: (job, ctx) => speak(job, ctx.signal),
    async onDead(job, error) {
      await publishOutbox(
        bus,
        { gatewayId: job.gatewayId, sessionId: job.sessionId },
        { kind: 'tts.failed', responseId: job.responseId, sentence: job.sentence, chunks: 0, error: { code: error.code, message: error.message } },
        `tts:${job.responseId}:${job.sentence}:failed`,
      );
    },
  });
}
