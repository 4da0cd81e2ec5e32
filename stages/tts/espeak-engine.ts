// Offline TTS with espeak-ng (Debian package): always available, robotic, fast (a sentence in tens
// of milliseconds). Output is 22050 Hz WAV, resampled to the bus's 24 kHz. The Realtime voices map
// onto espeak voice variants so each one still sounds different.
import { decodeWav, resamplePcm16 } from '../../lib/audio/index.ts';
import { EngineError } from '../../lib/errors.ts';
import { runProcess } from '../../lib/process.ts';
import type { TtsEngine } from './engine.ts';

const VOICE_MAP: Record<string, string> = {
  alloy: 'en-us',
  ash: 'en-us+m3',
  ballad: 'en-gb',
  coral: 'en-us+f3',
  echo: 'en-us+m1',
  sage: 'en-us+f2',
  shimmer: 'en-us+f4',
  verse: 'en-us+m2',
  marin: 'en-us+f1',
  cedar: 'en-us+m4',
};

const BASE_WPM = 175;

export function espeakVoice(voice: string): string {
  return VOICE_MAP[voice] ?? (/^[a-z]{2,3}(-[a-z]{2,4})?(\+[a-z0-9]+)?$/i.test(voice) ? voice : 'en-us');
}

export function createEspeakEngine(opts: { timeoutMs: number; binary?: string }): TtsEngine {
  const binary = opts.binary ?? 'espeak-ng';
  return {
    name: 'espeak',
    capabilities: { streaming: false, sampleRate: 24_000, voices: Object.keys(VOICE_MAP) },
    async *synthesize(req) {
      const wpm = Math.round(Math.min(450, Math.max(80, BASE_WPM * req.speed)));
      const wav = await runProcess('espeak', binary, ['--stdout', '--stdin', '-v', espeakVoice(req.voice), '-s', String(wpm)], {
        stdin: req.text,
        signal: req.signal,
        timeoutMs: opts.timeoutMs,
        maxOutputBytes: 64 << 20,
      });
      let decoded;
      try {
        decoded = decodeWav(wav);
      } catch (err) {
        throw new EngineError('espeak', 'bad_audio', `espeak-ng produced unreadable audio: ${(err as Error).message}`, { cause: err });
      }
      yield resamplePcm16(decoded.pcm16, decoded.sampleRate, 24_000);
    },
    close: async () => undefined,
  };
}
