// Input audio of one session onto the bus. Appends are coalesced into frames of at least
// PARLEY_AUDIO_FRAME_MS (a JetStream publish per 20 ms chunk would cap a process far below its
// socket capacity), published strictly in order with at most one publish in flight per session.
// Each message carries the session's sequence number (Parley-Seq); the VAD stage drops anything at
// or below the last one it took, so a retried publish whose first copy was stored is harmless. No
// Nats-Msg-Id: JetStream's own de-duplication would be a second, costlier copy of that (the server
// keeps every id for the duplicate window: 1.5 million entries at 50,000 frames/s), and the session
// is the subject's last token, not a header. Input-buffer control (commit, clear, config) travels in
// the same queue, so it can never overtake audio.
import type { Bus } from '../lib/nats/bus.ts';
import { publishDurable, publishWithHeaders, encodeJson } from '../lib/nats/publish.ts';
import { WireHeaders, audioFrameBlock, audioFrameBlockPrefix } from '../lib/nats/wire-headers.ts';
import { metrics } from '../lib/metrics.ts';
import type { Logger } from '../lib/logger.ts';
import { errorMessage } from '../lib/errors.ts';
import { HEADER, type InputControl } from '../schemas/index.ts';

/**
 * Audio appended since the last frame was published, written straight into one buffer (decoded
 * base64 lands there too): no buffer per append, no concatenation per frame.
 */
interface AudioSegment {
  kind: 'audio';
  buf: Buffer;
  /** Bytes of `buf` in use. */
  length: number;
  firstAt: number;
}
type Segment = AudioSegment | { kind: 'control'; ctl: InputControl; done: (err?: Error) => void };

export interface IngestTarget {
  readonly sessionId: string;
  readonly gatewayId: string;
  readonly partition: number;
}

const RATE = 24_000;
/** Largest frame published at once (a backlog after a stall is sent in pieces of this size). */
const MAX_FRAME_SAMPLES = RATE * 5;

export class AudioIngest {
  private readonly queue: Segment[] = [];
  private publishing = false;
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private nextOffset = 0;
  private queuedSamples = 0;
  private closed = false;
  private readonly frameSamples: number;
  private readonly maxQueuedSamples: number;
  /** The session's audio subject and the fixed part of its frames' header blocks, made once. */
  private readonly subject: string;
  private readonly frameBlockPrefix: string;

  constructor(
    private readonly bus: Bus,
    private readonly target: IngestTarget,
    opts: { frameMs: number; maxQueuedMs: number },
    private readonly log: Logger,
    private readonly onError: (message: string) => void,
    /** Where a resumed session's timeline continues (its last seq + 1 and sample offset). */
    start: { nextSeq: number; nextOffset: number } = { nextSeq: 0, nextOffset: 0 },
  ) {
    this.frameSamples = Math.round((opts.frameMs * RATE) / 1000);
    this.maxQueuedSamples = Math.round((opts.maxQueuedMs * RATE) / 1000);
    this.seq = start.nextSeq;
    this.nextOffset = start.nextOffset;
    this.subject = bus.cat.subjects.audio(target.partition, target.sessionId);
    this.frameBlockPrefix = audioFrameBlockPrefix(target.gatewayId);
  }

  /** Samples appended so far: the session's audio timeline (audio_start_ms / audio_end_ms). */
  get totalSamples(): number {
    return this.nextOffset + this.queuedSamples;
  }

  append(pcm: Uint8Array): void {
    this.appendWith(pcm.length, (tail) => (tail.set(pcm), true));
  }

  /**
   * Append `bytes` (even) of PCM16 that `write` puts into `tail` (exactly `bytes` long), e.g. by
   * decoding base64 straight into it; when `write` returns false nothing is appended.
   */
  appendWith(bytes: number, write: (tail: Buffer) => boolean): boolean {
    if (this.closed || bytes === 0) return true;
    const seg = this.openSegment(bytes);
    if (!write(seg.buf.subarray(seg.length, seg.length + bytes))) {
      if (seg.length === 0) this.queue.pop();
      return false;
    }
    seg.length += bytes;
    this.queuedSamples += bytes / 2;
    if (this.queuedSamples > this.maxQueuedSamples) this.shed();
    this.pump();
    return true;
  }

  /** The segment new audio goes to (the last one, or a new one), with room for `bytes` more. */
  private openSegment(bytes: number): AudioSegment {
    const last = this.queue[this.queue.length - 1];
    // The head segment may be mid-publish only when it was split (publishAudio copies what it sends).
    if (last?.kind === 'audio') {
      if (last.length + bytes > last.buf.length) {
        const grown = Buffer.allocUnsafe(Math.max(2 * last.buf.length, last.length + bytes));
        grown.set(last.buf.subarray(0, last.length));
        last.buf = grown;
      }
      return last;
    }
    const seg: AudioSegment = { kind: 'audio', buf: Buffer.allocUnsafe(Math.max(this.frameSamples * 2, bytes)), length: 0, firstAt: Date.now() };
    this.queue.push(seg);
    return seg;
  }

  /** Queue a control message behind all audio appended so far; resolves once it is on the bus. */
  control(ctl: InputControl): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queue.push({ kind: 'control', ctl, done: (err) => (err ? reject(err) : resolve()) });
      this.pump();
    });
  }

  /** True while audio or control waits to be published. */
  get busy(): boolean {
    return this.publishing || this.queue.length > 0;
  }

  /**
   * Flush what is queued and stop accepting input. With `release`, the VAD owner is told to drop
   * the session's state; without, it keeps it for a resume elsewhere (it ages out otherwise).
   */
  async close(release = true): Promise<void> {
    if (this.closed) return;
    const closing = release ? this.control({ op: 'close' }) : this.flushed();
    this.closed = true;
    this.pump();
    await closing.catch(() => undefined);
    clearTimeout(this.timer);
  }

  private async flushed(): Promise<void> {
    while (this.busy) await new Promise((r) => setTimeout(r, 5));
  }

  private shed(): void {
    // The bus has been unreachable for a long time: drop the oldest audio, say so once per burst.
    const head = this.queue.find((s) => s.kind === 'audio');
    if (!head || head.kind !== 'audio') return;
    const dropped = head.length / 2;
    this.queue.splice(this.queue.indexOf(head), 1);
    this.queuedSamples -= dropped;
    this.nextOffset += dropped;
    metrics.audioPublishFailures.inc();
    this.onError('Input audio could not be queued for processing (backlog too large); the oldest audio was dropped.');
  }

  private pump(): void {
    if (this.publishing) return;
    const head = this.queue[0];
    if (!head) return;
    if (head.kind === 'audio') {
      const due = head.length >= this.frameSamples * 2 || this.queue.length > 1 || this.closed || Date.now() - head.firstAt >= (this.frameSamples * 1000) / RATE;
      if (!due) {
        if (!this.timer) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.pump();
          }, Math.max(1, (this.frameSamples * 1000) / RATE - (Date.now() - head.firstAt)));
        }
        return;
      }
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.publishing = true;
    const work = head.kind === 'audio' ? this.publishAudio(head) : this.publishControl(head);
    void work.finally(() => {
      this.publishing = false;
      this.pump();
    });
  }

  private async publishAudio(seg: AudioSegment): Promise<void> {
    let pcm: Uint8Array = seg.buf.subarray(0, seg.length);
    let samples = seg.length / 2;
    if (samples > MAX_FRAME_SAMPLES) {
      // Send a copy of the first part and leave the rest at the head of the queue for the next
      // round (appends may still land behind it while this publish is in flight).
      pcm = Uint8Array.prototype.slice.call(seg.buf, 0, MAX_FRAME_SAMPLES * 2);
      seg.buf.copyWithin(0, MAX_FRAME_SAMPLES * 2, seg.length);
      seg.length -= MAX_FRAME_SAMPLES * 2;
      samples = MAX_FRAME_SAMPLES;
    } else {
      this.queue.shift();
    }
    const offset = this.nextOffset;
    const seq = this.seq++;
    this.nextOffset += samples;
    this.queuedSamples -= samples;
    const started = performance.now();
    try {
      // The block is written out whole: thousands of frames a second, and the header map, its
      // checks and its encoding were a tenth of the gateway thread's allocation. No trace context:
      // frames are published outside any span.
      await publishWithHeaders(this.bus, this.subject, pcm, WireHeaders.fromBlock(audioFrameBlock(this.frameBlockPrefix, seq, offset, seg.firstAt)));
      metrics.audioPublished.inc();
      metrics.audioPublishedSeconds.inc(samples / RATE);
      metrics.audioPublishSeconds.observe((performance.now() - started) / 1000);
    } catch (err) {
      metrics.audioPublishFailures.inc();
      this.log.error({ err: errorMessage(err), seq }, 'input audio frame could not be published');
      this.onError('Input audio could not be queued for processing; some audio was lost.');
    }
  }

  private async publishControl(seg: Extract<Segment, { kind: 'control' }>): Promise<void> {
    this.queue.shift();
    const seq = this.seq++;
    try {
      await publishDurable(this.bus, this.subject, encodeJson(seg.ctl), {
        kind: 'control',
        headers: this.headers({ [HEADER.seq]: String(seq), [HEADER.offset]: String(this.nextOffset) }),
      });
      seg.done();
    } catch (err) {
      seg.done(err as Error);
    }
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    return { [HEADER.gateway]: this.target.gatewayId, ...extra };
  }
}
