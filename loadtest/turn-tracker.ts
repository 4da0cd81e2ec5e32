// Follows the server events of one spoken turn and fills its TurnRecord: speech started/stopped,
// the first transcript text of the turn's user items, and per response its creation, first text,
// first and last audio delta and audio bytes. The turn's response is the first one that ends
// (response.done) after the utterance's audio ended and was not cancelled by more speech (a VAD
// split of the utterance cancels the early response; the next one is the answer).
import type { ServerEvent } from './socket.ts';
import type { TurnRecord, TurnStatus } from './types.ts';

const RATE = 24_000;

interface ResponseTrack {
  readonly created: number;
  firstText?: number;
  firstAudio?: number;
  lastAudio?: number;
  done?: number;
  status?: string;
  bytes: number;
  text: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});

/** Decoded length of a base64 string without decoding it. */
export function base64Bytes(b64: string): number {
  const pad = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
  return Math.floor((b64.length * 3) / 4) - pad;
}

export function createTurnTracker(rec: TurnRecord) {
  const responses = new Map<string, ResponseTrack>();
  const items = new Set<string>();
  let lastSpeechStarted = -Infinity;
  let chosen: ResponseTrack | undefined;
  let userText = '';
  let resolveDone: () => void = () => undefined;
  let resolveTranscript: () => void = () => undefined;
  const done = new Promise<void>((r) => (resolveDone = r));
  const transcript = new Promise<void>((r) => (resolveTranscript = r));

  const eligible = (r: ResponseTrack) => r.done !== undefined && r.status !== 'cancelled' && lastSpeechStarted <= r.created;
  const choose = (r: ResponseTrack) => {
    chosen ??= r;
    resolveDone();
  };
  const ownItem = (ev: ServerEvent) => {
    const id = str(ev['item_id']);
    return id === undefined || items.has(id);
  };
  const transcriptText = (at: number, text: string) => {
    if (text && rec.firstTranscript === undefined) rec.firstTranscript = at;
  };

  function onEvent(ev: ServerEvent, at: number): void {
    switch (ev.type) {
      case 'input_audio_buffer.speech_started':
        rec.speechSegments++;
        rec.speechStarted ??= at;
        lastSpeechStarted = at;
        if (str(ev['item_id'])) items.add(str(ev['item_id'])!);
        return;
      case 'input_audio_buffer.speech_stopped':
      case 'input_audio_buffer.committed':
        if (ev.type === 'input_audio_buffer.speech_stopped') rec.speechStopped = at;
        if (str(ev['item_id'])) items.add(str(ev['item_id'])!);
        return;
      case 'conversation.item.input_audio_transcription.delta':
        if (ownItem(ev)) transcriptText(at, str(ev['delta']) ?? '');
        return;
      case 'conversation.item.input_audio_transcription.completed':
      case 'conversation.item.input_audio_transcription.failed':
        if (!ownItem(ev)) return;
        if (ev.type.endsWith('completed')) {
          const text = str(ev['transcript']) ?? '';
          transcriptText(at, text);
          userText = userText ? `${userText} ${text}` : text;
        }
        rec.transcriptDone = at;
        resolveTranscript();
        return;
      case 'response.created': {
        const id = str(obj(ev['response'])['id']);
        if (id) responses.set(id, { created: at, bytes: 0, text: '' });
        rec.responses++;
        return;
      }
      case 'response.output_audio_transcript.delta':
      case 'response.output_text.delta': {
        const r = responses.get(str(ev['response_id']) ?? '');
        if (!r) return;
        r.firstText ??= at;
        r.text += str(ev['delta']) ?? '';
        return;
      }
      case 'response.output_audio.delta': {
        const r = responses.get(str(ev['response_id']) ?? '');
        if (!r) return;
        r.firstAudio ??= at;
        r.lastAudio = at;
        r.bytes += base64Bytes(str(ev['delta']) ?? '');
        return;
      }
      case 'response.done': {
        const response = obj(ev['response']);
        const r = responses.get(str(response['id']) ?? '');
        if (!r) return;
        r.done = at;
        r.status = str(response['status']) ?? 'unknown';
        if (r.status === 'cancelled') rec.cancelled++;
        if (Number.isFinite(rec.audioEnd) && eligible(r)) choose(r);
        return;
      }
      default:
        return;
    }
  }

  return {
    onEvent,
    /** Resolves when the turn's response is done. */
    done,
    /** Resolves when a user item of this turn got its transcription (completed or failed). */
    transcript,
    /** The utterance's voiced audio is all sent: a response already done for it ends the turn. */
    audioEnded(audioStart: number, audioEnd: number): void {
      rec.audioStart = audioStart;
      rec.audioEnd = audioEnd;
      const last = [...responses.values()].at(-1);
      if (last && eligible(last)) choose(last);
    },
    /** Copies the chosen response (or, for an unfinished turn, the latest one) into the record. */
    finish(status: TurnStatus): TurnRecord {
      const r = chosen ?? [...responses.values()].at(-1);
      rec.status = chosen ? (chosen.status === 'completed' ? 'completed' : chosen.status === 'incomplete' ? 'incomplete' : 'failed') : status;
      if (r) {
        rec.responseCreated = r.created;
        rec.firstText = r.firstText;
        rec.firstAudio = r.firstAudio;
        rec.lastAudio = r.lastAudio;
        rec.responseDone = r.done;
        rec.audioBytes = r.bytes;
        rec.audioMs = (r.bytes / 2 / RATE) * 1000;
        rec.answer = r.text.slice(0, 300);
      }
      if (userText) rec.transcript = userText.slice(0, 300);
      return rec;
    },
  };
}
