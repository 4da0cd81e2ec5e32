// The offline default LLM, named for what it is: it answers "You said: <last user message>".
// It streams word by word like a real model, so the rest of the pipeline (sentence splitting,
// TTS, cancellation) is exercised exactly as with one.
import { CancelledError } from '../../lib/errors.ts';
import { estimateTokens, type LlmEngine } from './engine.ts';

export function createEchoEngine(opts: { tokenDelayMs?: number } = {}): LlmEngine {
  const delay = opts.tokenDelayMs ?? 0;
  return {
    name: 'echo',
    capabilities: { tools: false, streaming: true },
    async *generate(req) {
      let lastUser = '';
      for (const item of req.context) {
        if (item.type === 'message' && item.role === 'user') lastUser = item.text;
        if (item.type === 'function_call_output') lastUser = item.output;
      }
      const heard = lastUser.trim();
      const answer = heard ? `You said: ${heard}` : 'I did not hear anything.';
      const words = answer.split(/(?<=\s)/);
      for (const w of words) {
        if (req.signal.aborted) throw new CancelledError();
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        yield { type: 'text', delta: w };
      }
      const input = req.instructions.length + req.context.reduce((n, c) => n + JSON.stringify(c).length, 0);
      yield { type: 'done', finishReason: 'stop', usage: { inputTokens: Math.ceil(input / 4), outputTokens: estimateTokens(answer) } };
    },
    close: async () => undefined,
  };
}
