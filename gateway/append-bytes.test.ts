// The plain-append scanner may only take what JSON.parse reads as the same append: for every frame
// it accepts, JSON.parse must give type input_audio_buffer.append, the audio text it found, and no
// member but type, audio and event_id — or the audio text must be something the gateway's strict
// base64 decode refuses (a raw control or non-ASCII byte in it), which sends the event the general way. Checked on the usual forms and on thousands of mutations of
// them (bytes inserted, deleted, replaced); what it refuses goes the general way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scanPlainAppend } from './append-bytes.ts';
import { decodeBase64Strict } from './client-events.ts';

const audio = Buffer.from(Array.from({ length: 960 }, (_, i) => (i * 37) & 255)).toString('base64');

function agrees(text: string | Buffer): boolean {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const found = scanPlainAppend(buf);
  if (!found) return false;
  const parsed = JSON.parse(new TextDecoder().decode(buf)) as Record<string, unknown>;
  assert.equal(parsed['type'], 'input_audio_buffer.append', buf.toString());
  const ours = buf.toString('latin1', found.audioStart, found.audioEnd);
  // Bytes past ASCII read differently as latin1, but are never base64: the strict decode the
  // gateway runs on the text refuses them, and the event goes the general way.
  if (ours !== parsed['audio']) assert.ok(/[^\x00-\x7f]/.test(ours) && decodeBase64Strict(ours) === null, buf.toString());
  assert.deepEqual(Object.keys(parsed).filter((k) => !['type', 'audio', 'event_id'].includes(k)), []);
  return true;
}

test('takes the usual forms: any member order, JSON whitespace, an event_id', () => {
  assert.ok(agrees(JSON.stringify({ type: 'input_audio_buffer.append', audio })));
  assert.ok(agrees(JSON.stringify({ audio, type: 'input_audio_buffer.append' })));
  assert.ok(agrees(JSON.stringify({ event_id: 'evt_123', type: 'input_audio_buffer.append', audio })));
  assert.ok(agrees(JSON.stringify({ type: 'input_audio_buffer.append', audio }, null, 2)));
  assert.ok(agrees(` \r\n\t{ "type" :"input_audio_buffer.append" , "audio":\n"${audio}" }\n`));
  assert.ok(agrees(JSON.stringify({ type: 'input_audio_buffer.append', audio: '' })));
});

test('leaves everything else to JSON.parse', () => {
  const refused = [
    JSON.stringify({ type: 'input_audio_buffer.commit' }),
    JSON.stringify({ type: 'input_audio_buffer.append' }), // no audio: the general path reports it
    JSON.stringify({ type: 'input_audio_buffer.append', audio, extra: 1 }),
    JSON.stringify({ type: 'input_audio_buffer.append', audio: 5 }),
    JSON.stringify({ type: 'input_audio_buffer.append', audio, event_id: 7 }),
    JSON.stringify({ type: 'input_audio_buffer.append', audio, event_id: 'é' }),
    `{"type":"input_audio_buffer.append","audio":"${audio.slice(0, 8)}\\/${audio.slice(8)}"}`, // an escaped '/', valid JSON
    `{"type":"input_audio_buffer.append","audio":"${audio}","audio":"${audio}"}`,
    `{"type":"input_audio_buffer.append","audio":"${audio}"}x`,
    `{"type":"input_audio_buffer.append","audio":"${audio}"`,
    `[{"type":"input_audio_buffer.append","audio":"${audio}"}]`,
    `{"type":"input_audio_buffer.append","audio":"AB\\"}`,
    '',
  ];
  for (const text of refused) assert.equal(scanPlainAppend(Buffer.from(text)), null, text);
});

test('every mutation it still takes is read the same by JSON.parse', () => {
  let seed = 42;
  const random = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff), seed % n);
  const alphabet = Buffer.from('{}[]":,\\ \n\tabtype_audio0+/=é\u0001');
  const bases = [JSON.stringify({ type: 'input_audio_buffer.append', audio: audio.slice(0, 40) }), JSON.stringify({ event_id: 'e1', audio: audio.slice(0, 40), type: 'input_audio_buffer.append' })].map((s) => Buffer.from(s));
  let taken = 0;
  for (let i = 0; i < 20_000; i++) {
    const base = bases[i % bases.length]!;
    const at = random(base.length + 1);
    const byte = alphabet[random(alphabet.length)]!;
    const kind = random(3);
    const mutated =
      kind === 0 ? Buffer.concat([base.subarray(0, at), Buffer.from([byte]), base.subarray(at)]) : kind === 1 ? Buffer.concat([base.subarray(0, at), base.subarray(at + 1)]) : Buffer.from(base).fill(byte, at, at + 1);
    let valid = true;
    try {
      JSON.parse(new TextDecoder().decode(mutated));
    } catch {
      valid = false;
    }
    const found = scanPlainAppend(mutated);
    if (!found) continue;
    taken++;
    // Not JSON only for what is inside the audio text (a raw control byte): never base64 either.
    if (!valid) assert.equal(decodeBase64Strict(mutated.toString('latin1', found.audioStart, found.audioEnd)), null, `taken but not JSON: ${mutated.toString()}`);
    else assert.ok(agrees(mutated));
  }
  assert.ok(taken > 1_000, `mutations that stay plain appends were taken too (${taken})`);
});
