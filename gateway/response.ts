// One model response as the client sees it: the event sequence from response.created to
// response.done, assembled from LLM text and tool calls and from TTS audio chunks that may arrive out
// of order (sentences are synthesized in parallel). Audio is released strictly by (sentence, chunk).
// A cancelled or finished response ignores anything that still arrives for it.
import { G711Encoder } from '../lib/audio/index.ts';
import type { AudioFormat, ConversationItem, ItemFunctionCall, ItemMessage, ResponseStatus, ResponseStatusDetails, Usage } from '../schemas/index.ts';

export interface ResponseHost {
  emit(event: Record<string, unknown>): void;
  /** Add an output item to the conversation (default conversation only); returns previous_item_id. */
  insertItem(item: ConversationItem): string | null;
  /** The id of the item before `itemId` in the conversation (null at the root or when absent). */
  previousOf(itemId: string): string | null;
  /** Assistant audio sent so far for an item (truncation needs it while the response runs). */
  audioProgress(itemId: string, audioMs: number): void;
  /** The item reached a new state worth persisting. */
  itemChanged(item: ConversationItem, extra?: { audioMs?: number }): void;
  /** First audio of this response reached the socket (turn latency). */
  firstAudio(): void;
  firstText(): void;
  finished(r: ResponseRun): void;
}

export interface ResponseParams {
  readonly id: string;
  readonly messageItemId: string;
  readonly conversation: 'auto' | 'none';
  readonly audio: boolean;
  readonly voice: string;
  readonly outputFormat: AudioFormat;
  readonly maxOutputTokens: number | 'inf';
  readonly metadata: Record<string, string> | null;
  readonly conversationId: string;
  readonly temperature: number;
}

export class ResponseRun {
  status: ResponseStatus = 'in_progress';
  private statusDetails: ResponseStatusDetails | null = null;
  private readonly output: ConversationItem[] = [];
  private message: ItemMessage | undefined;
  private messageIndex = -1;
  private transcript = '';
  private readonly pendingText = new Map<number, string>();
  private nextTextSeq = 0;
  private llmDone = false;
  private textSeqTotal = 0;
  private finishReason = 'stop';
  private totalSentences = 0;
  private nextSentence = 0;
  private nextChunk = 0;
  private readonly audioChunks = new Map<string, Uint8Array>();
  private readonly sentenceChunks = new Map<number, number>();
  private audioBytes = 0;
  private usage: { inputTokens: number; outputTokens: number } = { inputTokens: 0, outputTokens: 0 };
  private readonly encoder: G711Encoder | undefined;
  readonly createdAt = Date.now();
  dispatched = false;

  constructor(
    readonly p: ResponseParams,
    private readonly host: ResponseHost,
  ) {
    const f = p.outputFormat.type;
    this.encoder = f === 'audio/pcmu' ? new G711Encoder('ulaw') : f === 'audio/pcma' ? new G711Encoder('alaw') : undefined;
  }

  get id(): string {
    return this.p.id;
  }

  get active(): boolean {
    return this.status === 'in_progress';
  }

  get audioMs(): number {
    return this.audioBytes / 48;
  }

  /** The `response` object of response.created / response.done (GA shape). */
  snapshot(): Record<string, unknown> {
    const done = this.status !== 'in_progress';
    return {
      object: 'realtime.response',
      id: this.p.id,
      status: this.status,
      status_details: this.statusDetails,
      output: this.output.map((i) => ({ ...i })),
      conversation_id: this.p.conversation === 'auto' ? this.p.conversationId : null,
      output_modalities: this.p.audio ? ['audio'] : ['text'],
      max_output_tokens: this.p.maxOutputTokens,
      audio: { output: { format: this.p.outputFormat, voice: this.p.voice } },
      usage: done ? this.usageObject() : null,
      metadata: this.p.metadata,
      // Beta only (the dialect keeps it for beta clients and drops it for GA).
      temperature: this.p.temperature,
    };
  }

  start(): void {
    this.host.emit({ type: 'response.created', response: this.snapshot() });
  }

  private ids(): Record<string, unknown> {
    return { response_id: this.p.id, item_id: this.p.messageItemId, output_index: this.messageIndex, content_index: 0 };
  }

  private ensureMessage(): void {
    if (this.message) return;
    this.message = { id: this.p.messageItemId, object: 'realtime.item', type: 'message', status: 'in_progress', role: 'assistant', content: [] };
    this.messageIndex = this.output.length;
    this.output.push(this.message);
    this.message.content = [this.p.audio ? { type: 'output_audio', transcript: '' } : { type: 'output_text', text: '' }];
    this.host.emit({ type: 'response.output_item.added', response_id: this.p.id, output_index: this.messageIndex, item: { ...this.message, content: [] } });
    if (this.p.conversation === 'auto') {
      const prev = this.host.insertItem(this.message);
      this.host.emit({ type: 'conversation.item.added', previous_item_id: prev, item: { ...this.message, content: [] } });
    }
    const part = this.p.audio ? { type: 'audio', transcript: '' } : { type: 'text', text: '' };
    this.host.emit({ type: 'response.content_part.added', ...this.ids(), part });
  }

  onText(seq: number, delta: string): void {
    if (!this.active) return;
    this.pendingText.set(seq, delta);
    for (let d = this.pendingText.get(this.nextTextSeq); d !== undefined; d = this.pendingText.get(this.nextTextSeq)) {
      this.pendingText.delete(this.nextTextSeq++);
      if (!d) continue;
      this.ensureMessage();
      if (this.transcript === '') this.host.firstText();
      this.transcript += d;
      // Kept current while streaming, so a truncate or retrieve mid-response sees it.
      this.message!.content = [this.p.audio ? { type: 'output_audio', transcript: this.transcript } : { type: 'output_text', text: this.transcript }];
      const type = this.p.audio ? 'response.output_audio_transcript.delta' : 'response.output_text.delta';
      this.host.emit({ type, ...this.ids(), delta: d });
    }
    this.maybeFinish();
  }


  onFunctionCall(call: { callId: string; name: string; arguments: string }): void {
    if (!this.active) return;
    const item: ItemFunctionCall = { id: `item_${call.callId.replace(/[^A-Za-z0-9]/g, '').slice(-22)}`, object: 'realtime.item', type: 'function_call', status: 'in_progress', call_id: call.callId, name: call.name, arguments: '' };
    const outputIndex = this.output.length;
    this.output.push(item);
    this.host.emit({ type: 'response.output_item.added', response_id: this.p.id, output_index: outputIndex, item: { ...item } });
    const prev = this.p.conversation === 'auto' ? this.host.insertItem(item) : null;
    if (this.p.conversation === 'auto') this.host.emit({ type: 'conversation.item.added', previous_item_id: prev, item: { ...item } });
    const ids = { response_id: this.p.id, item_id: item.id, output_index: outputIndex, call_id: call.callId };
    this.host.emit({ type: 'response.function_call_arguments.delta', ...ids, delta: call.arguments });
    this.host.emit({ type: 'response.function_call_arguments.done', ...ids, name: call.name, arguments: call.arguments });
    item.arguments = call.arguments;
    item.status = 'completed';
    if (this.p.conversation === 'auto') this.host.emit({ type: 'conversation.item.done', previous_item_id: prev, item: { ...item } });
    this.host.emit({ type: 'response.output_item.done', response_id: this.p.id, output_index: outputIndex, item: { ...item } });
    this.host.itemChanged(item);
  }

  /** `deltas` is how many text deltas the model sent: done waits until all of them are here. */
  onLlmDone(sentences: number, usage: { inputTokens: number; outputTokens: number }, deltas = 0, finishReason = 'stop'): void {
    if (!this.active) return;
    this.llmDone = true;
    this.textSeqTotal = deltas;
    this.finishReason = finishReason;
    this.totalSentences = this.p.audio ? sentences : 0;
    this.usage = usage;
    this.maybeFinish();
  }

  onAudio(sentence: number, chunk: number, pcm: Uint8Array): void {
    if (!this.active || !this.p.audio || sentence < this.nextSentence) return;
    const count = this.sentenceChunks.get(sentence);
    if (count !== undefined && chunk >= count) return; // beyond the end the sentence reported
    this.audioChunks.set(`${sentence}:${chunk}`, pcm);
    this.releaseAudio();
  }

  onSentenceEnd(sentence: number, chunks: number | null): void {
    if (!this.active || !this.p.audio) return;
    // A failed sentence ends with whatever chunks arrived before the failure.
    let n = chunks;
    if (n === null) for (n = 0; this.audioChunks.has(`${sentence}:${n}`) || (sentence === this.nextSentence && n < this.nextChunk); n++);
    this.sentenceChunks.set(sentence, n);
    this.releaseAudio();
    this.maybeFinish();
  }

  private releaseAudio(): void {
    for (;;) {
      const key = `${this.nextSentence}:${this.nextChunk}`;
      const pcm = this.audioChunks.get(key);
      if (pcm) {
        this.audioChunks.delete(key);
        this.nextChunk++;
        this.sendAudio(pcm);
        continue;
      }
      const count = this.sentenceChunks.get(this.nextSentence);
      if (count !== undefined && this.nextChunk >= count) {
        this.sentenceChunks.delete(this.nextSentence);
        this.nextSentence++;
        this.nextChunk = 0;
        continue;
      }
      return;
    }
  }

  private sendAudio(pcm: Uint8Array): void {
    this.ensureMessage();
    if (this.audioBytes === 0) this.host.firstAudio();
    this.audioBytes += pcm.length;
    this.host.audioProgress(this.p.messageItemId, this.audioMs);
    const wire = this.encoder ? this.encoder.encode(pcm) : pcm;
    this.host.emit({ type: 'response.output_audio.delta', ...this.ids(), delta: Buffer.from(wire.buffer, wire.byteOffset, wire.byteLength).toString('base64') });
  }

  private maybeFinish(): void {
    if (!this.llmDone || this.nextSentence < this.totalSentences || this.nextTextSeq < this.textSeqTotal) return;
    // The model stopped on the token cap or a content filter: OpenAI reports that as incomplete.
    if (this.finishReason === 'length') this.end('incomplete', { type: 'incomplete', reason: 'max_output_tokens' });
    else if (this.finishReason === 'content_filter') this.end('incomplete', { type: 'incomplete', reason: 'content_filter' });
    else this.end('completed', null);
  }

  /** response.cancel or barge-in (`turn_detected`). */
  cancel(reason: 'turn_detected' | 'client_cancelled'): void {
    if (!this.active) return;
    this.end('cancelled', { type: 'cancelled', reason });
  }

  fail(code: string): void {
    if (!this.active) return;
    this.end('failed', { type: 'failed', error: { type: 'server_error', code } });
  }

  private end(status: ResponseStatus, details: ResponseStatusDetails | null): void {
    this.status = status;
    this.statusDetails = details;
    const message = this.message;
    if (message) {
      message.status = status === 'completed' ? 'completed' : 'incomplete';
      const ids = this.ids();
      if (this.p.audio) {
        const tail = this.encoder?.flush();
        if (tail && tail.length && status === 'completed') {
          this.host.emit({ type: 'response.output_audio.delta', ...ids, delta: Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength).toString('base64') });
        }
        this.host.emit({ type: 'response.output_audio.done', ...ids });
        this.host.emit({ type: 'response.output_audio_transcript.done', ...ids, transcript: this.transcript });
        message.content = [{ type: 'output_audio', transcript: this.transcript }];
        this.host.emit({ type: 'response.content_part.done', ...ids, part: { type: 'audio', transcript: this.transcript } });
      } else {
        this.host.emit({ type: 'response.output_text.done', ...ids, text: this.transcript });
        message.content = [{ type: 'output_text', text: this.transcript }];
        this.host.emit({ type: 'response.content_part.done', ...ids, part: { type: 'text', text: this.transcript } });
      }
      if (this.p.conversation === 'auto') this.host.emit({ type: 'conversation.item.done', previous_item_id: this.host.previousOf(message.id), item: { ...message } });
      this.host.emit({ type: 'response.output_item.done', response_id: this.p.id, output_index: this.messageIndex, item: { ...message } });
      this.host.itemChanged(message, { audioMs: this.audioMs });
    }
    this.audioChunks.clear();
    this.host.emit({ type: 'response.done', response: this.snapshot() });
    this.host.finished(this);
  }

  private usageObject(): Usage {
    const audioTokens = this.p.audio ? Math.ceil(this.audioMs / 100) : 0;
    const out = this.usage.outputTokens + audioTokens;
    return {
      total_tokens: this.usage.inputTokens + out,
      input_tokens: this.usage.inputTokens,
      output_tokens: out,
      input_token_details: {
        text_tokens: this.usage.inputTokens,
        audio_tokens: 0,
        image_tokens: 0,
        cached_tokens: 0,
        cached_tokens_details: { text_tokens: 0, audio_tokens: 0, image_tokens: 0 },
      },
      output_token_details: { text_tokens: this.usage.outputTokens, audio_tokens: audioTokens },
    };
  }
}
