// The one source of message shapes: Realtime client/server events (GA and beta) and the internal
// bus messages, each with its static type and a compiled validator made from the same definition.
import { compileValidator } from './validate.ts';
import { CancelNotice, ConversationRecord, DeadLetter, InputControl, LlmJob, OutboxEvent, SessionRecord, SttJob, TranscriptionSettings, TtsJob, TurnDetectionSettings, VadCheckpoint } from './internal/messages.ts';

export * from './realtime/common.ts';
export * from './realtime/session.ts';
export * from './realtime/client-events.ts';
export * from './realtime/server-events.ts';
export * from './internal/messages.ts';
export { HEADER, readAudioHeaders, type AudioHeaders, type MessageKind } from './internal/headers.ts';
export { compileValidator, toParam, type Validator, type Validated, type ValidationFailure } from './validate.ts';

export const validators = {
  inputControl: compileValidator(InputControl),
  sttJob: compileValidator(SttJob),
  llmJob: compileValidator(LlmJob),
  ttsJob: compileValidator(TtsJob),
  outboxEvent: compileValidator(OutboxEvent),
  conversationRecord: compileValidator(ConversationRecord),
  cancelNotice: compileValidator(CancelNotice),
  deadLetter: compileValidator(DeadLetter),
  sessionRecord: compileValidator(SessionRecord),
  vadCheckpoint: compileValidator(VadCheckpoint),
  turnDetection: compileValidator(TurnDetectionSettings),
  transcription: compileValidator(TranscriptionSettings),
};
