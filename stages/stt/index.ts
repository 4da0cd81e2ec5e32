// sttStage: one committed utterance per job. Takes the utterance from the job (short ones travel
// with it) or reads it from the utterance stream, transcribes it through the configured engine,
// and tells the session's gateway the transcript.
import type { ParleyConfig } from '../../lib/config.ts';
import { EngineError } from '../../lib/errors.ts';
import { startJobStage } from '../../lib/job-stage.ts';
import { publishOutbox } from '../../lib/nats/outbox.ts';
import { utteranceOf } from '../../lib/nats/utterances.ts';
import { metrics } from '../../lib/metrics.ts';
import type { Stage, StageDeps } from '../../lib/stage.ts';
import { ATTR } from '../../lib/tracing.ts';
import { validators, type SttJob } from '../../schemas/index.ts';
import type { SttEngine } from './engine.ts';
import { createOpenAiSttEngine } from './openai-engine.ts';
import { createPocketsphinxEngine } from './pocketsphinx-engine.ts';
import { createNullSttEngine } from './null-engine.ts';

export type { SttEngine, SttRequest, SttResult } from './engine.ts';

export const sttEngines = {
  pocketsphinx: (c: ParleyConfig) => createPocketsphinxEngine({ timeoutMs: c.stt.timeoutMs, warm: c.stt.concurrency }),
  openai: (c: ParleyConfig) => createOpenAiSttEngine({ baseUrl: c.stt.baseUrl, apiKey: c.stt.apiKey, model: c.stt.model, timeoutMs: c.stt.timeoutMs }),
  null: (c: ParleyConfig) => createNullSttEngine({ delayMs: c.nullEngineDelayMs }),
} satisfies Record<ParleyConfig['stt']['engine'], (c: ParleyConfig) => SttEngine>;

export async function startSttStage(deps: StageDeps, engineOverride?: SttEngine): Promise<Stage> {
  const { bus, config } = deps;
  const engine = engineOverride ?? sttEngines[config.stt.engine](config);
  return startJobStage<SttJob>({
    deps,
    stage: 'stt',
    engine,
    validator: validators.sttJob,
    concurrency: config.stt.concurrency,
    describe: (job) => ({ [ATTR.session]: job.sessionId, [ATTR.item]: job.itemId, [ATTR.engine]: engine.name }),
    async handle(job, ctx) {
      const audio = await utteranceOf(bus, job, ctx.attachment);
      const started = performance.now();
      let text: string;
      try {
        ({ text } = await engine.transcribe({
          audio,
          sampleRate: job.sampleRate,
          language: job.transcription?.language ?? null,
          prompt: job.transcription?.prompt ?? null,
          model: job.transcription?.model ?? null,
          signal: ctx.signal,
        }));
      } catch (err) {
        if (err instanceof EngineError) metrics.engineErrors.inc({ stage: 'stt', engine: engine.name, code: err.code });
        throw err;
      }
      metrics.engineFirstOutputSeconds.observe({ stage: 'stt', engine: engine.name }, (performance.now() - started) / 1000);
      await publishOutbox(
        bus,
        job,
        { kind: 'stt.completed', itemId: job.itemId, transcript: text, audioSeconds: job.samples / job.sampleRate, engine: engine.name },
        `stt:done:${job.itemId}`,
      );
      ctx.log.debug({ sensitive: { transcript: text }, ms: Math.round(performance.now() - started) }, 'utterance transcribed');
    },
    async onDead(job, error) {
      await publishOutbox(bus, job, { kind: 'stt.failed', itemId: job.itemId, error: { code: error.code, message: error.message } }, `stt:failed:${job.itemId}`);
    },
  });
}
