// The loadtest's utterance corpus: ten everyday requests spoken by espeak-ng in three voices and
// rates, PCM16 mono 24 kHz, each with its voiced range (first/last sample above -40 dBFS). Made
// once and cached under loadtest/.cache/ keyed by a hash of text + voice + rate; workers read the
// cached files, so only the parent ever runs espeak-ng.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { synthesizeSpeech, voicedRange } from '../test/support/speech.ts';
import type { Utterance } from './types.ts';

export const DEFAULT_CACHE_DIR = path.join(import.meta.dirname, '.cache');
const CACHE_VERSION = 1;
const SYNTH_CONCURRENCY = 4;

export const SENTENCES: readonly string[] = [
  'Hello, what is the weather like today in Paris?',
  'Please book a table for two at eight tonight.',
  'How long does it take to fly from London to Tokyo?',
  'Tell me a short story about a brave little cat.',
  'What time does the last train to Berlin leave?',
  'Can you remind me to call my sister tomorrow morning?',
  'I would like to order a large pizza with mushrooms.',
  'Set a timer for ten minutes, please.',
  'Which song was playing in the cafe this afternoon?',
  'Translate good night and sleep well into Spanish.',
];

export const VOICES: ReadonlyArray<{ readonly voice: string; readonly wpm: number }> = [
  { voice: 'en-us', wpm: 175 },
  { voice: 'en-gb', wpm: 155 },
  { voice: 'en-us+f3', wpm: 190 },
];

interface CacheMeta {
  readonly version: number;
  readonly text: string;
  readonly voice: string;
  readonly wpm: number;
  readonly samples: number;
  readonly voicedStart: number;
  readonly voicedEnd: number;
}

async function readCached(metaFile: string): Promise<CacheMeta | undefined> {
  try {
    const meta = JSON.parse(await readFile(metaFile, 'utf8')) as CacheMeta;
    return meta.version === CACHE_VERSION ? meta : undefined;
  } catch {
    return undefined;
  }
}

async function makeUtterance(cacheDir: string, text: string, voice: string, wpm: number): Promise<Utterance> {
  const key = createHash('sha256').update(JSON.stringify([CACHE_VERSION, text, voice, wpm])).digest('hex').slice(0, 16);
  const file = path.join(cacheDir, `${key}.pcm`);
  const metaFile = path.join(cacheDir, `${key}.json`);
  let meta = await readCached(metaFile);
  if (!meta) {
    const pcm = await synthesizeSpeech(text, { voice, wpm });
    const range = voicedRange(pcm);
    if (!range) throw new Error(`espeak-ng produced no voiced audio for ${JSON.stringify(text)} (${voice})`);
    meta = { version: CACHE_VERSION, text, voice, wpm, samples: pcm.length >> 1, voicedStart: range.start, voicedEnd: range.end };
    // Write-then-rename so a concurrent or interrupted run never sees half a file.
    await writeFile(`${file}.${process.pid}.tmp`, pcm);
    await rename(`${file}.${process.pid}.tmp`, file);
    await writeFile(`${metaFile}.${process.pid}.tmp`, JSON.stringify(meta));
    await rename(`${metaFile}.${process.pid}.tmp`, metaFile);
  }
  return { id: `${key}`, text, voice, wpm, file, samples: meta.samples, voicedStart: meta.voicedStart, voicedEnd: meta.voicedEnd };
}

/** Every sentence in every voice, synthesized on first use and read from the cache afterwards. */
export async function loadCorpus(opts: { cacheDir?: string } = {}): Promise<Utterance[]> {
  const cacheDir = opts.cacheDir ?? DEFAULT_CACHE_DIR;
  await mkdir(cacheDir, { recursive: true });
  const jobs = VOICES.flatMap((v) => SENTENCES.map((text) => () => makeUtterance(cacheDir, text, v.voice, v.wpm)));
  const out: Utterance[] = new Array<Utterance>(jobs.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < jobs.length; i = next++) out[i] = await jobs[i]!();
  };
  await Promise.all(Array.from({ length: SYNTH_CONCURRENCY }, lane));
  return out;
}

/** The utterance's PCM16 24 kHz samples. */
export async function readUtterancePcm(u: Utterance): Promise<Uint8Array> {
  const raw = await readFile(u.file);
  return new Uint8Array(raw.buffer, raw.byteOffset, u.samples * 2);
}
