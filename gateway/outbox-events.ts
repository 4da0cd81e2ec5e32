// Stage events in (VAD, STT, LLM, TTS) and what they mean for the session's client: user items on
// commit, automatic responses, barge-in, transcripts, and the response stream.
import { ClientRequestError } from '../lib/errors.ts';
import { metrics } from '../lib/metrics.ts';
import type { ItemMessage, OutboxEvent } from '../schemas/index.ts';
import type { RealtimeSession } from './session.ts';

const transcriptUsage = (seconds: number, text: string) => {
  const audioTokens = Math.ceil(seconds * 10);
  const outputTokens = Math.ceil(text.length / 4);
  return { type: 'tokens', total_tokens: audioTokens + outputTokens, input_tokens: audioTokens, input_token_details: { text_tokens: 0, audio_tokens: audioTokens }, output_tokens: outputTokens };
};

export function handleTtsAudio(session: RealtimeSession, responseId: string, sentence: number, chunk: number, pcm: Uint8Array): void {
  session.responses.get(responseId)?.onAudio(sentence, chunk, pcm);
}

export function handleOutboxEvent(session: RealtimeSession, ev: OutboxEvent): void {
  switch (ev.kind) {
    case 'vad.speech_started':
      return speechStarted(session, ev.itemId, ev.audioStartMs);
    case 'vad.speech_stopped':
      if (ev.audioEndMs <= session.committedUntilMs) return; // replayed after a VAD takeover
      session.turn = { speechStoppedAt: Date.now(), speechEndAt: ev.speechEndAt };
      session.send({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: ev.audioEndMs, item_id: ev.itemId });
      session.anticipateResponse(ev.itemId);
      return;
    case 'input.committed':
      return committed(session, ev);
    case 'input.timeout_triggered':
      session.send({ type: 'input_audio_buffer.timeout_triggered', audio_start_ms: ev.audioStartMs, audio_end_ms: ev.audioEndMs, item_id: ev.itemId });
      return;
    case 'input.cleared':
      session.send({ type: 'input_audio_buffer.cleared' });
      return;
    case 'input.error':
      session.sendError(new ClientRequestError(ev.code, ev.message), ev.clientEventId);
      return;
    case 'stt.delta':
      if (session.config.transcription) {
        session.send({ type: 'conversation.item.input_audio_transcription.delta', item_id: ev.itemId, content_index: 0, delta: ev.delta });
      }
      return;
    case 'stt.completed':
      return transcribed(session, ev.itemId, ev.transcript, ev.audioSeconds);
    case 'stt.failed':
      return transcriptionFailed(session, ev.itemId, ev.error);
    case 'llm.delta':
      session.responses.get(ev.responseId)?.onText(ev.seq, ev.delta);
      return;
    case 'llm.function_call':
      session.responses.get(ev.responseId)?.onFunctionCall(ev);
      return;
    case 'llm.done':
      session.responses.get(ev.responseId)?.onLlmDone(ev.sentences, ev.usage, ev.seq, ev.finishReason);
      return;
    case 'llm.failed':
      return llmFailed(session, ev.responseId, ev.error);
    case 'tts.sentence_done':
      session.responses.get(ev.responseId)?.onSentenceEnd(ev.sentence, ev.chunks);
      return;
    case 'tts.failed':
      // Graceful degradation: the sentence is skipped in audio; the transcript still carries it.
      session.log.warn({ response: ev.responseId, sentence: ev.sentence, code: ev.error.code }, 'tts failed for a sentence');
      session.responses.get(ev.responseId)?.onSentenceEnd(ev.sentence, null);
      return;
    case 'job.dead':
      session.sendError(new ClientRequestError(ev.error.code, `${ev.stage} processing failed: ${ev.error.message}`), null, 'server_error');
      return;
    default: {
      const never: never = ev;
      session.log.warn({ ev: never }, 'unknown outbox event');
    }
  }
}

/** Audio already committed is never a new turn (a VAD worker replaying after a takeover). */
const REPLAY_TOLERANCE_MS = 100;

function speechStarted(session: RealtimeSession, itemId: string, audioStartMs: number): void {
  if (audioStartMs + REPLAY_TOLERANCE_MS < session.committedUntilMs) return;
  session.disarmIdleTimeout();
  session.send({ type: 'input_audio_buffer.speech_started', audio_start_ms: audioStartMs, item_id: itemId });
  const td = session.config.turn_detection;
  const run = session.activeResponse;
  // Barge-in: the user talks over the assistant.
  if (run?.active && td && td.interrupt_response) session.cancelResponse(run, 'turn_detected');
}

function committed(session: RealtimeSession, ev: Extract<OutboxEvent, { kind: 'input.committed' }>): void {
  if (session.conversation.has(ev.itemId)) return; // a redelivered commit
  if (ev.source !== 'client' && ev.audioEndMs <= session.committedUntilMs) return; // a replayed one
  session.committedUntilMs = Math.max(session.committedUntilMs, ev.audioEndMs);
  session.disarmIdleTimeout();
  const previous = session.conversation.lastId();
  session.send({ type: 'input_audio_buffer.committed', previous_item_id: previous, item_id: ev.itemId });
  // An empty commit (idle timeout) has nothing to transcribe.
  const empty = ev.samples === 0;
  const item: ItemMessage = { id: ev.itemId, object: 'realtime.item', type: 'message', status: 'completed', role: 'user', content: [{ type: 'input_audio', transcript: empty ? '' : null }] };
  session.addItem(item, undefined, { utteranceChunks: ev.chunks, transcriptPending: !empty });
  const early = session.earlyTranscripts.get(ev.itemId);
  const td = session.config.turn_detection;
  const automatic = ev.source === 'timeout' || (ev.source === 'vad' && td?.create_response);
  const admitted = session.takeEarlyAdmission(ev.itemId);
  if (automatic && session.config.type === 'realtime' && !session.activeResponse?.active) {
    const s = session.config;
    session.createResponse({
      conversation: 'auto',
      audio: s.output_modalities.includes('audio'),
      voice: s.voice,
      instructions: s.instructions,
      tools: s.tools,
      toolChoice: s.tool_choice,
      temperature: s.temperature,
      maxOutputTokens: s.max_output_tokens,
      metadata: null,
      input: null,
      outputFormat: s.output_format,
    }, admitted);
  }
  if (early) {
    session.earlyTranscripts.delete(ev.itemId);
    transcribed(session, ev.itemId, early.transcript, early.seconds);
  }
}

function transcribed(session: RealtimeSession, itemId: string, transcript: string, seconds: number): void {
  const entry = session.conversation.get(itemId);
  if (!entry) {
    // The transcript overtook its commit: keep it until the item exists.
    session.earlyTranscripts.set(itemId, { transcript, seconds });
    if (session.earlyTranscripts.size > 64) session.earlyTranscripts.delete(session.earlyTranscripts.keys().next().value!);
    return;
  }
  if (session.turn.speechStoppedAt && !session.turn.transcriptAt) {
    session.turn.transcriptAt = Date.now();
    metrics.turnPhaseSeconds.observe({ phase: 'stt' }, (session.turn.transcriptAt - session.turn.speechStoppedAt) / 1000);
  }
  if (entry.item.type === 'message') {
    entry.meta.transcriptPending = false;
    entry.item.content = entry.item.content.map((p) => (p.type === 'input_audio' ? { ...p, transcript } : p));
    session.persistItem(entry.item);
  }
  if (session.config.transcription) {
    if (transcript) session.send({ type: 'conversation.item.input_audio_transcription.delta', item_id: itemId, content_index: 0, delta: transcript });
    session.send({ type: 'conversation.item.input_audio_transcription.completed', item_id: itemId, content_index: 0, transcript, usage: transcriptUsage(seconds, transcript) });
  }
  session.transcriptSettled(itemId);
}

function transcriptionFailed(session: RealtimeSession, itemId: string, error: { code: string; message: string }): void {
  const entry = session.conversation.get(itemId);
  if (entry) entry.meta.transcriptPending = false;
  if (session.config.transcription) {
    session.send({
      type: 'conversation.item.input_audio_transcription.failed',
      item_id: itemId,
      content_index: 0,
      // No `param` key: @openai/agents-realtime's schema drops the event when it is null.
      error: { type: 'transcription_error', code: error.code, message: error.message },
    });
  }
  session.transcriptSettled(itemId);
}

function llmFailed(session: RealtimeSession, responseId: string, error: { code: string; message: string }): void {
  const run = session.responses.get(responseId);
  if (!run?.active) return;
  session.sendError(new ClientRequestError(error.code, `The model failed to respond: ${error.message}`), null, 'server_error');
  run.fail(error.code);
}
