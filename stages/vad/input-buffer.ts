// The session's input audio buffer (24 kHz PCM16) as the VAD owner holds it: everything appended
// since the last commit or clear, positioned on the session's sample timeline so that VAD events,
// commits and `audio_start_ms` / `audio_end_ms` all agree.

const BYTES = 2;

/** Least capacity kept once the buffer has grown; above it an emptied buffer gives memory back. */
const MIN_CAPACITY = 64 * 1024;

export class InputBuffer {
  // One contiguous store, audio at [head, head + length * 2): appended bytes are copied in. Keeping
  // the bus messages themselves would pin the socket reads they were cut from (nats.js hands out
  // views into its read buffer), an utterance's worth of them per speaking session.
  private store = new Uint8Array(0);
  private head = 0;
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
    }
    // What the buffer would hold: [held | silence for the gap | data]; the cap keeps its newest
    // `keep` samples, taken from the end (so a huge gap never allocates more than the cap).
    const gap = Math.max(0, offset - end);
    const incoming = data.length / BYTES;
    const total = this.length + gap + incoming;
    const keep = Math.min(total, this.maxSamples);
    const keepData = Math.min(incoming, keep);
    const keepGap = Math.min(gap, keep - keepData);
    const keepHeld = keep - keepData - keepGap;
    this.trimBefore(end - keepHeld);
    if (keepHeld === 0) this.start = end + gap + incoming - keep;
    this.reserve(keepGap * BYTES).fill(0);
    this.length += keepGap;
    this.reserve(keepData * BYTES).set(data.subarray(data.length - keepData * BYTES));
    this.length += keepData;
    return Math.max(0, total - this.maxSamples);
  }

  /** Room for `bytes` more at the end of the audio (compacting or growing the store), as a view. */
  private reserve(bytes: number): Uint8Array {
    const used = this.length * BYTES;
    if (this.head + used + bytes > this.store.length) {
      const need = used + bytes;
      if (need <= this.store.length / 2) {
        this.store.copyWithin(0, this.head, this.head + used);
      } else {
        const grown = new Uint8Array(Math.max(MIN_CAPACITY, 2 * need));
        grown.set(this.store.subarray(this.head, this.head + used));
        this.store = grown;
      }
      this.head = 0;
    }
    const at = this.head + used;
    return this.store.subarray(at, at + bytes);
  }

  /** Forget audio before `sample` (keeps the prefix padding window while nobody speaks). */
  trimBefore(sample: number): void {
    const drop = Math.min(this.length, sample - this.start);
    if (drop <= 0) return;
    this.start += drop;
    this.length -= drop;
    this.head += drop * BYTES;
    if (this.length === 0) this.head = 0;
    this.shrinkIfIdle();
  }

  /** Copy of samples [from, to) clipped to what is buffered. */
  slice(from: number, to: number): Uint8Array {
    const a = Math.max(from, this.start);
    const b = Math.min(to, this.endSample);
    if (b <= a) return new Uint8Array(0);
    const at = this.head + (a - this.start) * BYTES;
    return this.store.slice(at, at + (b - a) * BYTES);
  }

  /** Remove and return [from, to); audio before `to` is gone afterwards. */
  take(from: number, to: number): Uint8Array {
    const out = this.slice(from, to);
    this.trimBefore(to);
    return out;
  }

  /** Drop everything; the buffer continues at `atSample`. */
  clear(atSample: number = this.endSample): void {
    this.length = 0;
    this.head = 0;
    this.start = atSample;
    this.positioned = true;
    this.shrinkIfIdle();
  }

  /** A store grown by a long turn is given back once little of it is in use. */
  private shrinkIfIdle(): void {
    const used = this.length * BYTES;
    if (this.store.length <= MIN_CAPACITY || used * 4 > this.store.length) return;
    const smaller = new Uint8Array(Math.max(MIN_CAPACITY, 2 * used));
    smaller.set(this.store.subarray(this.head, this.head + used));
    this.store = smaller;
    this.head = 0;
  }
}
