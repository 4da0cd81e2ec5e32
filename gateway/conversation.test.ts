// Tests for the gateway's conversation: insertion (end, after an item, root), positions that keep
// list order for persistence, delete / previousOf / pendingTranscripts, the LLM context window and
// the persisted form of items.
import { seededRandom as rng } from '../test/support/random.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConversationItem, ItemContentPart, ItemMessage } from '../schemas/index.ts';
import { Conversation, messageText, toContextItem, toPersisted } from './conversation.ts';

const msg = (id: string, role: ItemMessage['role'] = 'user', content: ItemContentPart[] = [{ type: 'input_text', text: id }]): ItemMessage => ({
  id,
  object: 'realtime.item',
  type: 'message',
  status: 'completed',
  role,
  content,
});
const call = (id: string, callId: string, args: string): ConversationItem => ({ id, object: 'realtime.item', type: 'function_call', status: 'completed', call_id: callId, name: 'lookup', arguments: args });
const output = (id: string, callId: string, out: string): ConversationItem => ({ id, object: 'realtime.item', type: 'function_call_output', status: 'completed', call_id: callId, output: out });

const ids = (c: Conversation): string[] => c.list().map((i) => i.id);
const positions = (c: Conversation): number[] => ids(c).map((id) => c.get(id)!.meta.position);

function assertStrictlyIncreasing(values: number[]): void {
  for (let i = 1; i < values.length; i++) {
    assert.ok(values[i - 1]! < values[i]!, `position ${i} (${values[i]}) is not after position ${i - 1} (${values[i - 1]})`);
  }
}


test('insert: undefined and null append (OpenAI: not set appends), an id inserts after it, root inserts first; returns the new predecessor', () => {
  const c = new Conversation();
  const steps: Array<[string, string | null | undefined, string | null, string[]]> = [
    ['a', undefined, null, ['a']],
    ['b', undefined, 'a', ['a', 'b']],
    ['c', 'a', 'a', ['a', 'c', 'b']],
    ['d', 'root', null, ['d', 'a', 'c', 'b']],
    ['e', 'root', null, ['e', 'd', 'a', 'c', 'b']],
    ['f', null, 'b', ['e', 'd', 'a', 'c', 'b', 'f']],
    ['g', 'e', 'e', ['e', 'g', 'd', 'a', 'c', 'b', 'f']],
  ];
  for (const [id, after, prev, order] of steps) {
    assert.equal(c.insert(msg(id), after), prev, `insert ${id} after ${String(after)}`);
    assert.deepEqual(ids(c), order);
    assertStrictlyIncreasing(positions(c));
  }
  assert.equal(c.size, 7);
  assert.equal(c.lastId(), 'f');
  assert.throws(() => c.insert(msg('h'), 'no-such-item'), /not in the conversation/);
});

test('insert into an empty conversation at the root', () => {
  const c = new Conversation();
  assert.equal(c.insert(msg('a'), 'root'), null);
  assert.deepEqual(ids(c), ['a']);
  assert.equal(c.lastId(), 'a');
});

test('insert: meta defaults to version 1 and keeps caller fields', () => {
  const c = new Conversation();
  c.insert(msg('u1'), undefined, { utteranceChunks: 3, transcriptPending: true });
  const meta = c.get('u1')!.meta;
  assert.equal(meta.version, 1);
  assert.equal(meta.utteranceChunks, 3);
  assert.equal(meta.transcriptPending, true);
  assert.equal(typeof meta.position, 'number');
});

test('positions keep list order through 300 random inserts and deletes', () => {
  const next = rng(7);
  const c = new Conversation();
  for (let n = 0; n < 300; n++) {
    const current = ids(c);
    const r = next();
    const after = r < 0.4 || current.length === 0 ? undefined : r < 0.5 ? 'root' : current[Math.floor(next() * current.length)]!;
    c.insert(msg(`i${n}`), after);
    if (next() < 0.1 && current.length > 0) c.delete(current[Math.floor(next() * current.length)]!);
  }
  assertStrictlyIncreasing(positions(c));
  const sorted = [...ids(c)].sort((a, b) => c.get(a)!.meta.position - c.get(b)!.meta.position);
  assert.deepEqual(sorted, ids(c));
});

test('positions: 200 inserts at the root keep order', () => {
  const c = new Conversation();
  c.insert(msg('greeting'), undefined);
  for (let n = 0; n < 200; n++) c.insert(msg(`r${n}`), 'root');
  assertStrictlyIncreasing(positions(c));
});

test(
  'positions: a chain of 100 inserts between two items keeps order (agents-js updateHistory inserts history this way)',
  () => {
    const c = new Conversation();
    c.insert(msg('system'), undefined);
    c.insert(msg('greeting'), undefined);
    let prev = 'system';
    for (let n = 0; n < 100; n++) {
      c.insert(msg(`h${n}`), prev);
      prev = `h${n}`;
    }
    assert.equal(c.size, 102);
    assertStrictlyIncreasing(positions(c));
  },
);

test('delete, has, previousOf, lastId', () => {
  const c = new Conversation();
  for (const id of ['a', 'b', 'c', 'd']) c.insert(msg(id), undefined);
  const prev: Array<[string, string | null]> = [
    ['a', null],
    ['b', 'a'],
    ['c', 'b'],
    ['d', 'c'],
    ['zz', null],
  ];
  for (const [id, p] of prev) assert.equal(c.previousOf(id), p, id);
  assert.equal(c.delete('b'), true);
  assert.equal(c.delete('b'), false);
  assert.equal(c.delete('nope'), false);
  assert.equal(c.has('b'), false);
  assert.equal(c.get('b'), undefined);
  assert.deepEqual(ids(c), ['a', 'c', 'd']);
  assert.equal(c.previousOf('c'), 'a');
  assert.equal(c.delete('d'), true);
  assert.equal(c.lastId(), 'c');
  assert.equal(c.size, 2);
  c.delete('a');
  c.delete('c');
  assert.equal(c.lastId(), null);
  assert.deepEqual(c.list(), []);
});

test('pendingTranscripts: user items waiting for STT, in conversation order', () => {
  const c = new Conversation();
  c.insert(msg('u1'), undefined, { transcriptPending: true });
  c.insert(msg('a1', 'assistant'), undefined);
  c.insert(msg('u2'), undefined, { transcriptPending: true });
  c.insert(msg('u0'), 'root', { transcriptPending: true });
  assert.deepEqual(c.pendingTranscripts(), ['u0', 'u1', 'u2']);
  c.get('u1')!.meta.transcriptPending = false;
  c.delete('u2');
  assert.deepEqual(c.pendingTranscripts(), ['u0']);
});

test('toContextItem / messageText: maps the three item types', () => {
  const rows: Array<[ConversationItem, unknown]> = [
    [msg('m1', 'user', [{ type: 'input_text', text: 'Hello' }]), { type: 'message', role: 'user', text: 'Hello' }],
    [msg('m2', 'system', [{ type: 'input_text', text: 'Be nice.' }]), { type: 'message', role: 'system', text: 'Be nice.' }],
    [msg('m3', 'user', [{ type: 'input_audio', transcript: 'spoken words', audio: 'AAAA' }]), { type: 'message', role: 'user', text: 'spoken words' }],
    [msg('m4', 'user', [{ type: 'input_audio', transcript: null }]), { type: 'message', role: 'user', text: '' }],
    [
      msg('m5', 'user', [
        { type: 'input_text', text: 'Look:' },
        { type: 'input_image', image_url: 'data:image/png;base64,AAAA' },
        { type: 'input_audio', transcript: 'and this' },
      ]),
      { type: 'message', role: 'user', text: 'Look: and this' },
    ],
    [msg('m6', 'assistant', [{ type: 'output_audio', transcript: 'Sure thing.', audio: 'AAAA' }]), { type: 'message', role: 'assistant', text: 'Sure thing.' }],
    [msg('m7', 'assistant', [{ type: 'output_text', text: 'Typed.' }]), { type: 'message', role: 'assistant', text: 'Typed.' }],
    [call('f1', 'call_1', '{"q":"x"}'), { type: 'function_call', callId: 'call_1', name: 'lookup', arguments: '{"q":"x"}' }],
    [output('o1', 'call_1', '{"r":1}'), { type: 'function_call_output', callId: 'call_1', output: '{"r":1}' }],
  ];
  for (const [item, expected] of rows) assert.deepEqual(toContextItem(item), expected, item.id);
  assert.equal(messageText(call('f2', 'c', '{}')), '');
});

test('context: newest items within maxChars, oldest dropped first, order kept', () => {
  const c = new Conversation();
  c.insert(msg('a', 'user', [{ type: 'input_text', text: '0123456789' }]), undefined); // 10
  c.insert(call('b', 'call_1', '01234'), undefined); // 5
  c.insert(output('c', 'call_1', '0123456789'), undefined); // 10
  c.insert(msg('d', 'assistant', [{ type: 'output_audio', transcript: '0123456789' }]), undefined); // 10
  const texts = (max: number) =>
    c.context(max).map((x) => (x.type === 'message' ? `${x.role}:${x.text}` : x.type === 'function_call' ? `call:${x.arguments}` : `out:${x.output}`));
  const rows: Array<[number, string[]]> = [
    [1_000, ['user:0123456789', 'call:01234', 'out:0123456789', 'assistant:0123456789']],
    [35, ['user:0123456789', 'call:01234', 'out:0123456789', 'assistant:0123456789']],
    [34, ['call:01234', 'out:0123456789', 'assistant:0123456789']],
    [25, ['call:01234', 'out:0123456789', 'assistant:0123456789']],
    [24, ['out:0123456789', 'assistant:0123456789']],
    [10, ['assistant:0123456789']],
    // The newest item is always kept, even when it alone is too long.
    [3, ['assistant:0123456789']],
  ];
  for (const [max, expected] of rows) assert.deepEqual(texts(max), expected, `maxChars ${max}`);
});

test('context: an older small item is not pulled in past one that did not fit', () => {
  const c = new Conversation();
  c.insert(msg('tiny', 'user', [{ type: 'input_text', text: 'hi' }]), undefined);
  c.insert(msg('big', 'assistant', [{ type: 'output_text', text: 'x'.repeat(50) }]), undefined);
  c.insert(msg('new', 'user', [{ type: 'input_text', text: 'y'.repeat(10) }]), undefined);
  assert.deepEqual(
    c.context(20).map((x) => (x.type === 'message' ? x.text : '')),
    ['y'.repeat(10)],
  );
});

test('context: an explicit item list (response.create input) replaces the conversation', () => {
  const c = new Conversation();
  c.insert(msg('a'), undefined);
  const input = [msg('x', 'user', [{ type: 'input_text', text: 'only this' }])];
  assert.deepEqual(c.context(1_000, input), [{ type: 'message', role: 'user', text: 'only this' }]);
  assert.deepEqual(c.context(1_000, []), []);
});

test('toPersisted: no audio bytes, transcript for audio messages, tool fields', () => {
  const user = msg('u', 'user', [{ type: 'input_audio', transcript: 'hello there', audio: 'UklGRg==' }]);
  const before = structuredClone(user);
  const p = toPersisted(user);
  assert.equal(p.id, 'u');
  assert.equal(p.type, 'message');
  assert.equal(p.role, 'user');
  assert.equal(p.status, 'completed');
  assert.equal(p.transcript, 'hello there');
  assert.deepEqual(JSON.parse(JSON.stringify(p.content)), [{ type: 'input_audio', transcript: 'hello there' }]);
  assert.ok(!JSON.stringify(p).includes('UklGRg=='), 'audio bytes must not be persisted');
  assert.deepEqual(user, before, 'the live item keeps its audio');

  const assistant = toPersisted(msg('a', 'assistant', [{ type: 'output_audio', transcript: 'Sure.', audio: 'AAAA' }]));
  assert.equal(assistant.transcript, 'Sure.');
  assert.ok(!JSON.stringify(assistant).includes('AAAA'));

  const text = toPersisted(msg('t', 'user', [{ type: 'input_text', text: 'typed' }]));
  assert.equal(text.transcript, null);
  assert.deepEqual(text.content, [{ type: 'input_text', text: 'typed' }]);

  assert.deepEqual(toPersisted(call('f', 'call_9', '{"a":1}')), {
    id: 'f',
    type: 'function_call',
    status: 'completed',
    role: null,
    content: [],
    transcript: null,
    callId: 'call_9',
    name: 'lookup',
    arguments: '{"a":1}',
    output: null,
  });
  assert.deepEqual(toPersisted(output('o', 'call_9', 'done')), {
    id: 'o',
    type: 'function_call_output',
    status: 'completed',
    role: null,
    content: [],
    transcript: null,
    callId: 'call_9',
    name: null,
    arguments: null,
    output: 'done',
  });
});
