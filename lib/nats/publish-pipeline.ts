// Publishes of one job that go out back to back instead of one PubAck round trip each: an LLM
// answer's deltas and its TTS jobs, a sentence's audio chunks. On a busy host a PubAck takes
// milliseconds, and waiting for each one put every word of a first sentence on the path to first
// audio. Order is not at risk: the gateway orders deltas by seq and audio by (sentence, chunk),
// and a retried publish keeps its Nats-Msg-Id. At most `depth` wait for their acks at once; the
// first failure is thrown by the next add() or by drain(), so a job still fails as a whole.
import { setMaxListeners } from 'node:events';
export class PublishPipeline {
  private readonly pending = new Set<Promise<void>>();
  private failed = false;
  private failure: unknown;

  /**
   * `signal`: the job's, which every publish in flight may wait on at once (a retry's backoff while
   * a stream elects a leader), so it is allowed that many listeners: past 10 Node warns of a leak.
   */
  private readonly depth: number;

  constructor(opts: { readonly depth?: number; readonly signal?: AbortSignal } = {}) {
    this.depth = opts.depth ?? 32;
    if (opts.signal) setMaxListeners(this.depth + 16, opts.signal);
  }

  /** Start waiting for `publish`; resolves once there is room for another (or throws an earlier failure). */
  async add(publish: Promise<unknown>): Promise<void> {
    // Tracked even after a failure, so its own rejection is never left unhandled.
    const tracked: Promise<void> = publish.then(
      () => void this.pending.delete(tracked),
      (err: unknown) => {
        if (!this.failed) [this.failed, this.failure] = [true, err];
        this.pending.delete(tracked);
      },
    );
    this.pending.add(tracked);
    while (this.pending.size >= this.depth) await Promise.race(this.pending);
    this.throwIfFailed();
  }

  /** Every publish acked (or the first failure thrown): call before announcing that the work is complete. */
  async drain(): Promise<void> {
    await Promise.all(this.pending);
    this.throwIfFailed();
  }

  get inFlight(): number {
    return this.pending.size;
  }

  private throwIfFailed(): void {
    if (this.failed) throw this.failure;
  }
}
