// Offline STT with CMU PocketSphinx (Debian packages `pocketsphinx`, `pocketsphinx-en-us`): weak,
// but real and local. One process per utterance, audio as a 16 kHz WAV in a private temp file (it
// opens its input by name, and Node's stdio pipes are sockets it cannot open); the number of
// decoders running at once is bounded by the stage's concurrency.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { encodeWav, resamplePcm16 } from '../../lib/audio/index.ts';
import { runProcess } from '../../lib/process.ts';
import type { SttEngine } from './engine.ts';

const RATE = 16_000;

export function createPocketsphinxEngine(opts: { timeoutMs: number; binary?: string }): SttEngine {
  const binary = opts.binary ?? 'pocketsphinx_continuous';
  return {
    name: 'pocketsphinx',
    capabilities: { streaming: false, languages: ['en'] },
    async transcribe(req) {
      const pcm16k = resamplePcm16(req.audio, req.sampleRate, RATE);
      const dir = await mkdtemp(path.join(os.tmpdir(), 'parley-stt-'));
      const file = path.join(dir, 'utterance.wav');
      let out: Buffer;
      try {
        await writeFile(file, encodeWav(pcm16k, RATE), { mode: 0o600 });
        out = await runProcess('pocketsphinx', binary, ['-infile', file, '-samprate', String(RATE), '-logfn', '/dev/null'], {
          signal: req.signal,
          timeoutMs: opts.timeoutMs,
          maxOutputBytes: 1 << 20,
        });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      // One line per segment it found; blank lines are segments without words.
      const text = out
        .toString('utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .join(' ');
      return { text };
    },
    close: async () => undefined,
  };
}
