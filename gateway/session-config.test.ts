// Tests for the effective session: defaults, GA and beta session.update semantics (replace vs keep,
// defaults for missing fields, refusals that leave the session untouched) and the rendered shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientRequestError } from '../lib/errors.ts';
import type { RealtimeSessionUpdateGa, SessionConfig, SessionUpdateBeta, TranscriptionSessionUpdateBeta, TranscriptionSessionUpdateGa } from '../schemas/index.ts';
import { applyBetaUpdate, applyGaUpdate, defaultSession, renderBetaSession, renderGaSession } from './session-config.ts';

const EXPIRES = 1_900_000_000;
const realtime = (): SessionConfig => defaultSession({ id: 'sess_1', model: 'gpt-realtime', type: 'realtime', expiresAt: EXPIRES });
const transcription = (): SessionConfig => defaultSession({ id: 'sess_2', model: 'gpt-realtime', type: 'transcription', expiresAt: EXPIRES });
const fresh = { audioProduced: false };
const spoken = { audioProduced: true };
const ga = (u: Omit<RealtimeSessionUpdateGa, 'type'>): RealtimeSessionUpdateGa => ({ type: 'realtime', ...u });

function refused(fn: () => unknown, code: string, param: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ClientRequestError, String(err));
    assert.equal(err.code, code);
    assert.equal(err.param, param);
    assert.equal(err.kind, 'invalid_request_error');
    return true;
  });
}

const SERVER_VAD_DEFAULTS = { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500, idle_timeout_ms: null, create_response: true, interrupt_response: true };

test('defaultSession: GA defaults', () => {
  const s = realtime();
  assert.equal(s.type, 'realtime');
  assert.equal(s.id, 'sess_1');
  assert.equal(s.model, 'gpt-realtime');
  assert.deepEqual(s.output_modalities, ['audio']);
  assert.deepEqual(s.input_format, { type: 'audio/pcm', rate: 24000 });
  assert.deepEqual(s.output_format, { type: 'audio/pcm', rate: 24000 });
  assert.equal(s.voice, 'alloy');
  assert.equal(s.speed, 1);
  assert.equal(s.transcription, null);
  assert.equal(s.noise_reduction, null);
  assert.deepEqual(s.turn_detection, SERVER_VAD_DEFAULTS);
  assert.deepEqual(s.tools, []);
  assert.equal(s.tool_choice, 'auto');
  assert.equal(s.max_output_tokens, 'inf');
  assert.equal(s.truncation, 'auto');
  assert.equal(s.tracing, null);
  assert.equal(s.prompt, null);
  assert.equal(s.include, null);
  assert.equal(s.temperature, 0.8);
  assert.equal(s.expires_at, EXPIRES);
  assert.ok(s.instructions.length > 0);
  assert.equal(transcription().type, 'transcription');
});

test('defaultSession: two sessions share no mutable state', () => {
  const a = realtime();
  const b = realtime();
  a.tools.push({ type: 'function', name: 'f' });
  a.output_modalities.push('text');
  assert.deepEqual(b.tools, []);
  assert.deepEqual(b.output_modalities, ['audio']);
});

test('applyGaUpdate: turn_detection is replaced, missing fields take defaults (not the old values)', () => {
  const slow = applyGaUpdate(realtime(), ga({ audio: { input: { turn_detection: { type: 'server_vad', threshold: 0.9, silence_duration_ms: 900, create_response: false } } } }), fresh);
  assert.deepEqual(slow.turn_detection, { ...SERVER_VAD_DEFAULTS, threshold: 0.9, silence_duration_ms: 900, create_response: false });
  const rows: Array<[unknown, unknown]> = [
    [{ type: 'server_vad', threshold: 0.7 }, { ...SERVER_VAD_DEFAULTS, threshold: 0.7 }],
    [{ type: 'server_vad', idle_timeout_ms: 6000 }, { ...SERVER_VAD_DEFAULTS, idle_timeout_ms: 6000 }],
    [{ type: 'semantic_vad' }, { type: 'semantic_vad', eagerness: 'auto', create_response: true, interrupt_response: true }],
    [{ type: 'semantic_vad', model_version: 'default', eagerness: 'low', interrupt_response: false }, { type: 'semantic_vad', eagerness: 'low', create_response: true, interrupt_response: false }],
    [null, null],
  ];
  for (const [patch, expected] of rows) {
    const next = applyGaUpdate(slow, ga({ audio: { input: { turn_detection: patch as never } } }), fresh);
    assert.deepEqual(next.turn_detection, expected, JSON.stringify(patch));
  }
  // Absent turn_detection keeps the current one.
  assert.deepEqual(applyGaUpdate(slow, ga({ instructions: 'x' }), fresh).turn_detection, slow.turn_detection);
});

test('applyGaUpdate: transcription defaults, null disables, absent keeps', () => {
  const rows: Array<[unknown, unknown]> = [
    [{}, { model: 'whisper-1', language: null, prompt: null }],
    [{ model: 'gpt-4o-mini-transcribe' }, { model: 'gpt-4o-mini-transcribe', language: null, prompt: null }],
    [{ model: 'gpt-4o-transcribe', language: 'de', prompt: 'names' }, { model: 'gpt-4o-transcribe', language: 'de', prompt: 'names' }],
    [null, null],
  ];
  for (const [patch, expected] of rows) {
    const next = applyGaUpdate(realtime(), ga({ audio: { input: { transcription: patch as never } } }), fresh);
    assert.deepEqual(next.transcription, expected, JSON.stringify(patch));
  }
  const on = applyGaUpdate(realtime(), ga({ audio: { input: { transcription: { model: 'gpt-4o-transcribe' } } } }), fresh);
  assert.deepEqual(applyGaUpdate(on, ga({ audio: { input: { noise_reduction: { type: 'far_field' } } } }), fresh).transcription, on.transcription);
});

test('applyGaUpdate: output_modalities [text] and [audio]', () => {
  const text = applyGaUpdate(realtime(), ga({ output_modalities: ['text'] }), fresh);
  assert.deepEqual(text.output_modalities, ['text']);
  assert.deepEqual(applyGaUpdate(text, ga({ output_modalities: ['audio'] }), fresh).output_modalities, ['audio']);
});

test('applyGaUpdate: formats are normalized (PCM always carries rate 24000)', () => {
  const rows: Array<[unknown, unknown]> = [
    [{ type: 'audio/pcm' }, { type: 'audio/pcm', rate: 24000 }],
    [{ type: 'audio/pcm', rate: 24000 }, { type: 'audio/pcm', rate: 24000 }],
    [{ type: 'audio/pcmu' }, { type: 'audio/pcmu' }],
    [{ type: 'audio/pcma' }, { type: 'audio/pcma' }],
  ];
  for (const [format, expected] of rows) {
    const next = applyGaUpdate(realtime(), ga({ audio: { input: { format: format as never }, output: { format: format as never } } }), fresh);
    assert.deepEqual(next.input_format, expected);
    assert.deepEqual(next.output_format, expected);
  }
});

test('applyGaUpdate: plain fields, clearing with "" and []', () => {
  const set = applyGaUpdate(
    realtime(),
    ga({
      instructions: 'Speak like a pirate.',
      tools: [{ type: 'function', name: 'lookup' }],
      tool_choice: { type: 'function', name: 'lookup' },
      max_output_tokens: 200,
      truncation: 'disabled',
      tracing: 'auto',
      prompt: { id: 'pmpt_1' },
      include: ['item.input_audio_transcription.logprobs'],
      audio: { output: { speed: 1.25 }, input: { noise_reduction: { type: 'near_field' } } },
    }),
    fresh,
  );
  assert.equal(set.instructions, 'Speak like a pirate.');
  assert.deepEqual(set.tools, [{ type: 'function', name: 'lookup' }]);
  assert.deepEqual(set.tool_choice, { type: 'function', name: 'lookup' });
  assert.equal(set.max_output_tokens, 200);
  assert.equal(set.truncation, 'disabled');
  assert.equal(set.tracing, 'auto');
  assert.deepEqual(set.prompt, { id: 'pmpt_1' });
  assert.deepEqual(set.include, ['item.input_audio_transcription.logprobs']);
  assert.equal(set.speed, 1.25);
  assert.deepEqual(set.noise_reduction, { type: 'near_field' });
  const cleared = applyGaUpdate(set, ga({ instructions: '', tools: [], audio: { input: { noise_reduction: null } } }), fresh);
  assert.equal(cleared.instructions, '');
  assert.deepEqual(cleared.tools, []);
  assert.equal(cleared.noise_reduction, null);
  assert.equal(cleared.max_output_tokens, 200, 'fields not named stay');
});

test('applyGaUpdate: the model cannot change; the same model is accepted (agents-js resends it)', () => {
  assert.equal(applyGaUpdate(realtime(), ga({ model: 'gpt-realtime' }), fresh).model, 'gpt-realtime');
  refused(() => applyGaUpdate(realtime(), ga({ model: 'gpt-realtime-mini' }), fresh), 'invalid_value', 'session.model');
});

test('applyGaUpdate: voice changes before audio, is refused after (same voice still fine)', () => {
  assert.equal(applyGaUpdate(realtime(), ga({ audio: { output: { voice: 'marin' } } }), fresh).voice, 'marin');
  assert.equal(applyGaUpdate(realtime(), ga({ audio: { output: { voice: { id: 'voice_abc' } } } }), fresh).voice, 'voice_abc');
  assert.equal(applyGaUpdate(realtime(), ga({ audio: { output: { voice: 'alloy' } } }), spoken).voice, 'alloy');
  refused(() => applyGaUpdate(realtime(), ga({ audio: { output: { voice: 'cedar' } } }), spoken), 'cannot_update_voice', 'session.audio.output.voice');
  assert.equal(applyGaUpdate(realtime(), ga({ instructions: 'x' }), spoken).voice, 'alloy', 'no voice in the update: no refusal');
});

test('applyGaUpdate: session.type must match the session kind', () => {
  const toTranscription: TranscriptionSessionUpdateGa = { type: 'transcription' };
  refused(() => applyGaUpdate(transcription(), ga({}), fresh), 'invalid_value', 'session.type');
  refused(() => applyGaUpdate(realtime(), toTranscription, fresh), 'invalid_value', 'session.type');
});

test('applyGaUpdate: a transcription session takes input settings', () => {
  const next = applyGaUpdate(
    transcription(),
    { type: 'transcription', audio: { input: { format: { type: 'audio/pcmu' }, transcription: { model: 'gpt-4o-transcribe', language: 'en' }, turn_detection: { type: 'server_vad', threshold: 0.6 } } }, include: ['item.input_audio_transcription.logprobs'] },
    fresh,
  );
  assert.deepEqual(next.input_format, { type: 'audio/pcmu' });
  assert.deepEqual(next.transcription, { model: 'gpt-4o-transcribe', language: 'en', prompt: null });
  assert.deepEqual(next.turn_detection, { ...SERVER_VAD_DEFAULTS, threshold: 0.6 });
  assert.deepEqual(next.include, ['item.input_audio_transcription.logprobs']);
  assert.equal(next.type, 'transcription');
});

test('applyGaUpdate: success returns a new object and leaves the current one as it was', () => {
  const cur = realtime();
  const before = structuredClone(cur);
  const next = applyGaUpdate(cur, ga({ instructions: 'new', audio: { input: { turn_detection: null, format: { type: 'audio/pcmu' } }, output: { voice: 'sage' } } }), fresh);
  assert.notEqual(next, cur);
  assert.deepEqual(cur, before);
  assert.equal(next.instructions, 'new');
});

test('applyGaUpdate: a refused update changes nothing, even fields listed before the bad one', () => {
  const rows: Array<[string, RealtimeSessionUpdateGa, typeof fresh]> = [
    ['bad model', ga({ instructions: 'changed', audio: { input: { turn_detection: null, transcription: { model: 'x' } } }, model: 'other' }), fresh],
    ['voice after audio', ga({ instructions: 'changed', tools: [{ type: 'function', name: 'f' }], audio: { input: { format: { type: 'audio/pcma' } }, output: { voice: 'ash' } } }), spoken],
  ];
  for (const [name, update, ctx] of rows) {
    const cur = realtime();
    const before = structuredClone(cur);
    assert.throws(() => applyGaUpdate(cur, update, ctx), ClientRequestError, name);
    assert.deepEqual(cur, before, name);
  }
});

test('applyBetaUpdate: modalities map onto one GA output modality', () => {
  const rows: Array<[Array<'text' | 'audio'>, Array<'text' | 'audio'>]> = [
    [['text', 'audio'], ['audio']],
    [['audio', 'text'], ['audio']],
    [['audio'], ['audio']],
    [['text'], ['text']],
  ];
  for (const [modalities, expected] of rows) {
    assert.deepEqual(applyBetaUpdate(realtime(), { modalities }, fresh).output_modalities, expected, JSON.stringify(modalities));
  }
});

test('applyBetaUpdate: beta audio formats', () => {
  const rows: Array<[SessionUpdateBeta['input_audio_format'], unknown]> = [
    ['pcm16', { type: 'audio/pcm', rate: 24000 }],
    ['g711_ulaw', { type: 'audio/pcmu' }],
    ['g711_alaw', { type: 'audio/pcma' }],
  ];
  for (const [f, expected] of rows) {
    const next = applyBetaUpdate(realtime(), { input_audio_format: f, output_audio_format: f }, fresh);
    assert.deepEqual(next.input_format, expected, f);
    assert.deepEqual(next.output_format, expected, f);
  }
});

test('applyBetaUpdate: flat fields, turn_detection and transcription defaults', () => {
  const next = applyBetaUpdate(
    realtime(),
    {
      instructions: 'hi',
      voice: 'verse',
      speed: 1.1,
      temperature: 1,
      max_response_output_tokens: 4096,
      tool_choice: 'none',
      tools: [{ type: 'function', name: 'f' }],
      turn_detection: { type: 'server_vad', silence_duration_ms: 700 },
      input_audio_transcription: { model: 'whisper-1' },
      input_audio_noise_reduction: { type: 'far_field' },
    },
    fresh,
  );
  assert.equal(next.instructions, 'hi');
  assert.equal(next.voice, 'verse');
  assert.equal(next.speed, 1.1);
  assert.equal(next.temperature, 1);
  assert.equal(next.max_output_tokens, 4096);
  assert.equal(next.tool_choice, 'none');
  assert.deepEqual(next.tools, [{ type: 'function', name: 'f' }]);
  assert.deepEqual(next.turn_detection, { ...SERVER_VAD_DEFAULTS, silence_duration_ms: 700 });
  assert.deepEqual(next.transcription, { model: 'whisper-1', language: null, prompt: null });
  assert.deepEqual(next.noise_reduction, { type: 'far_field' });
  assert.equal(applyBetaUpdate(next, { turn_detection: null }, fresh).turn_detection, null);
});

test('applyBetaUpdate: model and voice refusals, and nothing changes when refused', () => {
  assert.equal(applyBetaUpdate(realtime(), { model: 'gpt-realtime' }, fresh).model, 'gpt-realtime');
  refused(() => applyBetaUpdate(realtime(), { model: 'gpt-4o-realtime-preview' }, fresh), 'invalid_value', 'session.model');
  refused(() => applyBetaUpdate(realtime(), { voice: 'echo' }, spoken), 'cannot_update_voice', 'session.voice');
  assert.equal(applyBetaUpdate(realtime(), { voice: 'alloy' }, spoken).voice, 'alloy');
  const cur = realtime();
  const before = structuredClone(cur);
  assert.throws(() => applyBetaUpdate(cur, { instructions: 'x', input_audio_format: 'g711_ulaw', turn_detection: null, voice: 'echo' }, spoken), ClientRequestError);
  assert.deepEqual(cur, before);
});

test('applyBetaUpdate: transcription_session.update on a transcription session', () => {
  const u: TranscriptionSessionUpdateBeta = {
    input_audio_format: 'g711_alaw',
    input_audio_transcription: { model: 'gpt-4o-transcribe', language: 'fr' },
    turn_detection: { type: 'server_vad', threshold: 0.4 },
  };
  const next = applyBetaUpdate(transcription(), u, fresh);
  assert.deepEqual(next.input_format, { type: 'audio/pcma' });
  assert.deepEqual(next.transcription, { model: 'gpt-4o-transcribe', language: 'fr', prompt: null });
  assert.deepEqual(next.turn_detection, { ...SERVER_VAD_DEFAULTS, threshold: 0.4 });
});

test('renderGaSession: realtime shape (nested audio, no beta fields)', () => {
  const s = applyGaUpdate(realtime(), ga({ audio: { input: { transcription: { model: 'whisper-1' } }, output: { voice: 'marin' } } }), fresh);
  const r = renderGaSession(s);
  assert.equal(r['type'], 'realtime');
  assert.equal(r['object'], 'realtime.session');
  assert.equal(r['id'], 'sess_1');
  assert.equal(r['model'], 'gpt-realtime');
  assert.equal(r['expires_at'], EXPIRES);
  assert.deepEqual(r['output_modalities'], ['audio']);
  assert.deepEqual(r['audio'], {
    input: { format: { type: 'audio/pcm', rate: 24000 }, transcription: { model: 'whisper-1', language: null, prompt: null }, noise_reduction: null, turn_detection: SERVER_VAD_DEFAULTS },
    output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin', speed: 1 },
  });
  for (const key of ['tools', 'tool_choice', 'max_output_tokens', 'tracing', 'truncation', 'prompt', 'include', 'instructions']) assert.ok(key in r, key);
  for (const beta of ['modalities', 'voice', 'input_audio_format', 'output_audio_format', 'turn_detection', 'input_audio_transcription', 'max_response_output_tokens', 'temperature']) {
    assert.equal(beta in r, false, `GA session must not carry beta field ${beta}`);
  }
});

test('renderGaSession: transcription shape (input only, trimmed turn_detection)', () => {
  const r = renderGaSession(transcription());
  assert.equal(r['type'], 'transcription');
  assert.equal(r['object'], 'realtime.transcription_session');
  assert.deepEqual(r['audio'], {
    input: {
      format: { type: 'audio/pcm', rate: 24000 },
      transcription: null,
      noise_reduction: null,
      turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 },
    },
  });
  for (const key of ['model', 'voice', 'instructions', 'output_modalities', 'tools']) assert.equal(key in r, false, key);
});

test('renderBetaSession: flat realtime shape', () => {
  const rows: Array<[SessionUpdateBeta, Record<string, unknown>]> = [
    [{}, { modalities: ['text', 'audio'], input_audio_format: 'pcm16', output_audio_format: 'pcm16' }],
    [{ modalities: ['text'] }, { modalities: ['text'] }],
    [{ input_audio_format: 'g711_ulaw', output_audio_format: 'g711_alaw' }, { input_audio_format: 'g711_ulaw', output_audio_format: 'g711_alaw' }],
  ];
  for (const [update, expected] of rows) {
    const r = renderBetaSession(applyBetaUpdate(realtime(), update, fresh));
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(r[k], v, `${JSON.stringify(update)}: ${k}`);
  }
  const r = renderBetaSession(applyBetaUpdate(realtime(), { voice: 'verse', max_response_output_tokens: 100, temperature: 0.7 }, fresh));
  assert.equal(r['object'], 'realtime.session');
  assert.equal(r['id'], 'sess_1');
  assert.equal(r['model'], 'gpt-realtime');
  assert.equal(r['voice'], 'verse');
  assert.equal(r['temperature'], 0.7);
  assert.equal(r['max_response_output_tokens'], 100);
  assert.deepEqual(r['turn_detection'], SERVER_VAD_DEFAULTS);
  assert.equal(r['input_audio_transcription'], null);
  for (const ga of ['type', 'audio', 'output_modalities', 'max_output_tokens']) assert.equal(ga in r, false, `beta session must not carry GA field ${ga}`);
});

test('renderBetaSession: transcription session', () => {
  const s = applyBetaUpdate(transcription(), { input_audio_format: 'g711_ulaw', input_audio_transcription: { model: 'whisper-1' } }, fresh);
  const r = renderBetaSession(s);
  assert.equal(r['object'], 'realtime.transcription_session');
  assert.equal(r['id'], 'sess_2');
  assert.deepEqual(r['modalities'], ['text']);
  assert.equal(r['input_audio_format'], 'g711_ulaw');
  assert.deepEqual(r['input_audio_transcription'], { model: 'whisper-1', language: null, prompt: null });
  assert.deepEqual(r['turn_detection'], { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 });
  for (const key of ['voice', 'model', 'output_audio_format', 'instructions']) assert.equal(key in r, false, key);
});
