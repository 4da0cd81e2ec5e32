// A null TTS engine for load tests: after a fixed delay, a quiet 440 Hz tone of 60 ms per word of
// the sentence, in one piece (PARLEY_TTS_ENGINE=null).
import { CancelledError } from '../../lib/errors.ts';
import { abortableDelay } from '../../lib/delay.ts';
import type { TtsEngine } from './engine.ts';

const MS_PER_WORD = 60;
const RATE = 24_000;
/** One second of the tone (440 whole periods), made once: a load test's TTS must cost nothing itself. */
const TONE_SECOND = (() => {
  const pcm = new Uint8Array(RATE * 2);
  const view = new DataView(pcm.buffer);
  for (let i = 0; i < RATE; i++) view.setInt16(i * 2, Math.round(2_000 * Math.sin((2 * Math.PI * 440 * i) / RATE)), true);
  return pcm;
})();

export function createNullTtsEngine(opts: { delayMs: number }): TtsEngine {
  return {
    name: 'null',
    capabilities: { streaming: false, sampleRate: 24_000, voices: 'any' },
    async *synthesize(req) {
      await abortableDelay(opts.delayMs, req.signal);
      if (req.signal.aborted) throw new CancelledError();
      const words = Math.max(1, req.text.split(/\s+/).filter(Boolean).length);
      const samples = Math.round((RATE * words * MS_PER_WORD) / 1000);
      const pcm = new Uint8Array(samples * 2);
      for (let at = 0; at < pcm.length; at += TONE_SECOND.length) pcm.set(TONE_SECOND.subarray(0, pcm.length - at), at);
      yield pcm;
    },
    close: async () => undefined,
  };
}
