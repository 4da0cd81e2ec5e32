// The session's input audio buffer (24 kHz PCM16) as the VAD owner holds it: everything appended
// since the last commit or clear, positioned on the session's sample timeline so that VAD events,
// commits and `audio_start_ms` / `audio_end_ms` all agree.

const BYTES = 2;

export class InputBuffer {
  private chunks: Uint8Array[] = [];
  private start = 0; // session sample offset of the first buffered sample
  private length = 0; // buffered samples
  private positioned = false; // the first append fixes where the timeline starts

  constructor(private readonly maxSamples: number) {}

  get startSample(): number {
    return this.start;
  }

  get endSample(): number {
    return this.start + this.length;
  }

  get samples(): number {
    return this.length;
  }

  /**
   * Append audio that starts at `offset` on the session timeline. Overlap (a redelivered frame) is
   * skipped; a gap is filled with silence so positions stay true. Returns samples dropped from the
   * front because the buffer is full.
   */
  append(pcm: Uint8Array, offset: number): number {
    if (!this.positioned) {
      this.start = offset;
      this.positioned = true;
    }
    const end = this.endSample;
    let data = pcm;
    if (offset < end) {
      const skip = (end - offset) * BYTES;
      if (skip >= data.length) return 0;
      data = data.subarray(skip);
    } else if (offset > end) {
      this.push(new Uint8Array((offset - end) * BYTES));
    }
    this.push(data);
    const over = this.length - this.maxSamples;
    if (over > 0) this.trimBefore(this.start + over);
    return Math.max(0, over);
  }

  private push(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.length += data.length / BYTES;
  }

  /** Forget audio before `sample` (keeps the prefix padding window while nobody speaks). */
  trimBefore(sample: number): void {
    let drop = Math.min(this.length, sample - this.start);
    if (drop <= 0) return;
    this.start += drop;
    this.length -= drop;
    while (drop > 0 && this.chunks.length) {
      const first = this.chunks[0]!;
      const n = first.length / BYTES;
      if (n <= drop) {
        this.chunks.shift();
        drop -= n;
      } else {
        this.chunks[0] = first.subarray(drop * BYTES);
        drop = 0;
      }
    }
  }

  /** Copy of samples [from, to) clipped to what is buffered. */
  slice(from: number, to: number): Uint8Array {
    const a = Math.max(from, this.start);
    const b = Math.min(to, this.endSample);
    if (b <= a) return new Uint8Array(0);
    const out = new Uint8Array((b - a) * BYTES);
    let pos = this.start;
    let written = 0;
    for (const c of this.chunks) {
      const n = c.length / BYTES;
      const cs = Math.max(a, pos);
      const ce = Math.min(b, pos + n);
      if (ce > cs) {
        out.set(c.subarray((cs - pos) * BYTES, (ce - pos) * BYTES), written);
        written += (ce - cs) * BYTES;
      }
      pos += n;
      if (pos >= b) break;
    }
    return out;
  }

  /** Remove and return [from, to); audio before `to` is gone afterwards. */
  take(from: number, to: number): Uint8Array {
    const out = this.slice(from, to);
    this.trimBefore(to);
    return out;
  }

  /** Drop everything; the buffer continues at `atSample`. */
  clear(atSample: number = this.endSample): void {
    this.chunks = [];
    this.length = 0;
    this.start = atSample;
    this.positioned = true;
  }
}
