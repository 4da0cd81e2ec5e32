// A null STT engine for load tests: answers a fixed transcript after a fixed delay, so the
// platform's own cost can be measured apart from a model's (PARLEY_STT_ENGINE=null).
import { CancelledError } from '../../lib/errors.ts';
import { abortableDelay } from '../../lib/delay.ts';
import type { SttEngine } from './engine.ts';

export function createNullSttEngine(opts: { delayMs: number; text?: string }): SttEngine {
  return {
    name: 'null',
    capabilities: { streaming: false, languages: 'any' },
    async transcribe(req) {
      await abortableDelay(opts.delayMs, req.signal);
      if (req.signal.aborted) throw new CancelledError();
      return { text: opts.text ?? 'this is a null transcript' };
    },
    close: async () => undefined,
  };
}
