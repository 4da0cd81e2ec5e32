// llmStage: one response per job. Streams the engine's tokens to the session's gateway, cuts them
// into sentences and queues one TTS job per sentence (so the first audio leaves before the answer
// is finished), reports tool calls, and stops within milliseconds when the response is cancelled.
import type { ParleyConfig } from '../../lib/config.ts';
import { EngineError, ParleyError } from '../../lib/errors.ts';
import { startJobStage } from '../../lib/job-stage.ts';
import { publishOutbox } from '../../lib/nats/outbox.ts';
import { publishJson } from '../../lib/nats/publish.ts';
import { PublishPipeline } from '../../lib/nats/publish-pipeline.ts';
import { metrics } from '../../lib/metrics.ts';
import type { Stage, StageDeps } from '../../lib/stage.ts';
import { ATTR } from '../../lib/tracing.ts';
import { validators, type LlmJob, type TtsJob } from '../../schemas/index.ts';
import { createEchoEngine } from './echo-engine.ts';
import type { LlmEngine } from './engine.ts';
import { createOpenAiLlmEngine } from './openai-engine.ts';
import { createNullLlmEngine } from './null-engine.ts';
import { SentenceSplitter } from './sentence-splitter.ts';

export type { LlmEngine, LlmChunk, LlmRequest } from './engine.ts';
export { createEchoEngine } from './echo-engine.ts';
export { SentenceSplitter } from './sentence-splitter.ts';

export const llmEngines = {
  echo: (_c: ParleyConfig) => createEchoEngine(),
  openai: (c: ParleyConfig) => createOpenAiLlmEngine({ baseUrl: c.llm.baseUrl, apiKey: c.llm.apiKey, model: c.llm.model, timeoutMs: c.llm.timeoutMs }),
  null: (c: ParleyConfig) => createNullLlmEngine({ delayMs: c.nullEngineDelayMs }),
} satisfies Record<ParleyConfig['llm']['engine'], (c: ParleyConfig) => LlmEngine>;

export async function startLlmStage(deps: StageDeps, engineOverride?: LlmEngine): Promise<Stage> {
  const { bus, config } = deps;
  const engine = engineOverride ?? llmEngines[config.llm.engine](config);

  async function runResponse(job: LlmJob, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    const splitter = new SentenceSplitter();
    let seq = 0;
    let sentences = 0;
    let text = '';
    let firstOutput = true;
    const target = { gatewayId: job.gatewayId, sessionId: job.sessionId };
    // Deltas and TTS jobs go out without a PubAck round trip each: the first sentence's words are
    // on the path to first audio.
    const out = new PublishPipeline({ signal });
    const queueSentence = async (sentence: string) => {
      if (!job.audio) return;
      const tts: TtsJob = {
        sessionId: job.sessionId,
        gatewayId: job.gatewayId,
        responseId: job.responseId,
        itemId: job.itemId,
        sentence: sentences,
        text: sentence,
        voice: job.voice,
        speed: job.speed,
        createdAt: Date.now(),
      };
      sentences++;
      await out.add(publishJson(bus, bus.cat.subjects.ttsJob(job.sessionId), tts, { msgId: `tts:${job.responseId}:${tts.sentence}`, signal }));
    };
    try {
      const stream = engine.generate({
        instructions: job.instructions,
        context: job.context,
        tools: job.tools,
        toolChoice: job.toolChoice,
        temperature: job.temperature,
        maxOutputTokens: job.maxOutputTokens,
        signal,
      });
      for await (const chunk of stream) {
        if (firstOutput && chunk.type !== 'done') {
          firstOutput = false;
          metrics.engineFirstOutputSeconds.observe({ stage: 'llm', engine: engine.name }, (performance.now() - started) / 1000);
        }
        if (chunk.type === 'text') {
          text += chunk.delta;
          await out.add(publishOutbox(bus, target, { kind: 'llm.delta', responseId: job.responseId, seq, delta: chunk.delta }, `llm:${job.responseId}:${seq}`, signal));
          seq++;
          for (const s of splitter.push(chunk.delta)) await queueSentence(s);
        } else if (chunk.type === 'tool_call') {
          const call = { kind: 'llm.function_call', responseId: job.responseId, index: chunk.index, callId: chunk.callId, name: chunk.name, arguments: chunk.arguments } as const;
          await out.add(publishOutbox(bus, target, call, `llm:${job.responseId}:call:${chunk.index}`, signal));
        } else {
          const rest = splitter.flush();
          if (rest) await queueSentence(rest);
          await out.drain(); // done announces the counts: everything it counts is stored first
          await publishOutbox(
            bus,
            target,
            { kind: 'llm.done', responseId: job.responseId, seq, text, sentences, finishReason: chunk.finishReason, usage: chunk.usage },
            `llm:${job.responseId}:done`,
            signal,
          );
          return;
        }
      }
      throw new EngineError(engine.name, 'stream_ended', 'the model stream ended without finishing');
    } catch (err) {
      if (err instanceof EngineError) metrics.engineErrors.inc({ stage: 'llm', engine: engine.name, code: err.code });
      // Once text reached the client a retry would say it twice: fail instead.
      if (seq > 0 && err instanceof ParleyError && err.retryable) throw new EngineError(engine.name, err.code, err.message, { retryable: false, cause: err });
      throw err;
    }
  }

  return startJobStage<LlmJob>({
    deps,
    stage: 'llm',
    engine,
    validator: validators.llmJob,
    concurrency: config.llm.concurrency,
    responseOf: (job) => job.responseId,
    describe: (job) => ({ [ATTR.session]: job.sessionId, [ATTR.response]: job.responseId, [ATTR.engine]: engine.name }),
    async handle(job, ctx) {
      const timeout = AbortSignal.timeout(config.llm.timeoutMs);
      try {
        await runResponse(job, AbortSignal.any([ctx.signal, timeout]));
      } catch (err) {
        if (timeout.aborted && !ctx.signal.aborted) {
          throw new EngineError(engine.name, 'timeout', `the model did not finish within ${config.llm.timeoutMs} ms`, { retryable: false, cause: err });
        }
        throw err;
      }
    },
    async onDead(job, error) {
      await publishOutbox(
        bus,
        { gatewayId: job.gatewayId, sessionId: job.sessionId },
        { kind: 'llm.failed', responseId: job.responseId, error: { code: error.code, message: error.message } },
        `llm:${job.responseId}:failed`,
      );
    },
  });
}
