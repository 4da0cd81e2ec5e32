// A null LLM engine for load tests: the first token after a fixed delay, then a fixed two-sentence
// answer streamed word by word without delay (PARLEY_LLM_ENGINE=null).
import { CancelledError } from '../../lib/errors.ts';
import { abortableDelay } from '../../lib/delay.ts';
import { estimateTokens, type LlmEngine } from './engine.ts';

const ANSWER = 'This is a null response. It has exactly two sentences.';

export function createNullLlmEngine(opts: { delayMs: number }): LlmEngine {
  return {
    name: 'null',
    capabilities: { tools: false, streaming: true },
    async *generate(req) {
      await abortableDelay(opts.delayMs, req.signal);
      for (const w of ANSWER.split(/(?<=\s)/)) {
        if (req.signal.aborted) throw new CancelledError();
        yield { type: 'text', delta: w };
      }
      yield { type: 'done', finishReason: 'stop', usage: { inputTokens: 10, outputTokens: estimateTokens(ANSWER) } };
    },
    close: async () => undefined,
  };
}
