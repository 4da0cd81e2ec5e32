// WAV (RIFF) container: writes the canonical 44-byte mono 16-bit header and
// reads real-world files, which means walking the chunk list instead of
// assuming fixed offsets, and tolerating streaming writers such as
// `espeak-ng --stdout` that cannot know the data length up front and put a
// placeholder (0, 0xFFFFFFFF, or in espeak-ng 1.51 0x7FFFF000) in the size field.

export interface DecodedWav {
  sampleRate: number;
  /** Channel count of the source file; `pcm16` is always mono (downmixed by averaging). */
  channels: number;
  pcm16: Uint8Array;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
const FORMAT_NAMES: Record<number, string> = { 1: 'PCM', 3: 'IEEE float', 6: 'A-law', 7: 'μ-law', 0x11: 'IMA ADPCM' };

/** Wraps PCM16 mono in a 44-byte RIFF/WAVE header. A trailing odd byte is dropped. */
export function encodeWav(pcm16: Uint8Array, sampleRate: number): Uint8Array {
  const dataBytes = pcm16.length & ~1;
  const out = new Uint8Array(44 + dataBytes);
  const v = new DataView(out.buffer);
  writeAscii(out, 0, 'RIFF');
  v.setUint32(4, 36 + dataBytes, true);
  writeAscii(out, 8, 'WAVE');
  writeAscii(out, 12, 'fmt ');
  v.setUint32(16, 16, true); // fmt chunk body size
  v.setUint16(20, WAVE_FORMAT_PCM, true);
  v.setUint16(22, 1, true); // channels
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true); // byte rate
  v.setUint16(32, 2, true); // block align
  v.setUint16(34, 16, true); // bits per sample
  writeAscii(out, 36, 'data');
  v.setUint32(40, dataBytes, true);
  out.set(pcm16.subarray(0, dataBytes), 44);
  return out;
}

/** Parses a 16-bit PCM WAV. Throws a descriptive Error for anything else. */
export function decodeWav(buf: Uint8Array): DecodedWav {
  if (buf.length < 12 || readAscii(buf, 0) !== 'RIFF' || readAscii(buf, 8) !== 'WAVE') {
    throw new Error('decodeWav: not a RIFF/WAVE file');
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let format: { code: number; channels: number; sampleRate: number; bits: number } | null = null;
  let data: Uint8Array | null = null;

  let offset = 12;
  while (offset + 8 <= buf.length) {
    const id = readAscii(buf, offset);
    const declared = view.getUint32(offset + 4, true);
    const bodyStart = offset + 8;
    const remaining = buf.length - bodyStart;
    if (id === 'fmt ') {
      if (declared < 16 || declared > remaining) throw new Error(`decodeWav: malformed fmt chunk (${declared} bytes)`);
      let code = view.getUint16(bodyStart, true);
      // WAVE_FORMAT_EXTENSIBLE carries the real format in the first two bytes of its SubFormat GUID.
      if (code === WAVE_FORMAT_EXTENSIBLE && declared >= 40) code = view.getUint16(bodyStart + 24, true);
      format = {
        code,
        channels: view.getUint16(bodyStart + 2, true),
        sampleRate: view.getUint32(bodyStart + 4, true),
        bits: view.getUint16(bodyStart + 14, true),
      };
    } else if (id === 'data') {
      // Streaming writers leave a placeholder size; anything that overruns the file means "the rest".
      const streaming = declared === 0 || declared === 0xffffffff || declared > remaining;
      data = buf.subarray(bodyStart, bodyStart + (streaming ? remaining : declared));
      if (streaming) break;
    }
    // Chunks are word-aligned: an odd-sized body is followed by one pad byte.
    offset = bodyStart + declared + (declared & 1);
  }

  if (!format) throw new Error('decodeWav: no fmt chunk');
  if (!data) throw new Error('decodeWav: no data chunk');
  if (format.code !== WAVE_FORMAT_PCM) {
    const name = FORMAT_NAMES[format.code] ?? `format 0x${format.code.toString(16)}`;
    throw new Error(`decodeWav: unsupported encoding ${name}; only 16-bit PCM is supported`);
  }
  if (format.bits !== 16) throw new Error(`decodeWav: unsupported ${format.bits}-bit PCM; only 16-bit PCM is supported`);
  if (format.channels < 1) throw new Error('decodeWav: fmt chunk declares 0 channels');
  if (format.sampleRate < 1) throw new Error('decodeWav: fmt chunk declares a 0 Hz sample rate');

  return { sampleRate: format.sampleRate, channels: format.channels, pcm16: downmixToMono(data, format.channels) };
}

/** Averages interleaved channels into a fresh mono buffer; drops a trailing partial frame. */
function downmixToMono(data: Uint8Array, channels: number): Uint8Array {
  const frames = Math.floor(data.length / (2 * channels));
  if (channels === 1) return data.slice(0, frames * 2);
  const out = new Uint8Array(frames * 2);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) {
      const j = (f * channels + c) * 2;
      sum += (((data[j] as number) | ((data[j + 1] as number) << 8)) << 16) >> 16;
    }
    // The average of int16 values is always within int16 range, so no clamp is needed.
    const s = Math.round(sum / channels);
    out[f * 2] = s & 0xff;
    out[f * 2 + 1] = (s >> 8) & 0xff;
  }
  return out;
}

function readAscii(buf: Uint8Array, offset: number): string {
  return String.fromCharCode(buf[offset] ?? 0, buf[offset + 1] ?? 0, buf[offset + 2] ?? 0, buf[offset + 3] ?? 0);
}

function writeAscii(buf: Uint8Array, offset: number, text: string): void {
  for (let i = 0; i < text.length; i++) buf[offset + i] = text.charCodeAt(i);
}
