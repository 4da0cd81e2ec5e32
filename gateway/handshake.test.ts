// Tests for the /v1/realtime handshake: where the key comes from, GA vs beta, the subprotocol we
// answer with, and the refusals (code + close code) OpenAI's clients expect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maskKey, parseHandshake, type Handshake, type HandshakeRequest } from './handshake.ts';

const KEY = 'sk-test-0123456789abcdef';
const req = (r: Partial<HandshakeRequest>): HandshakeRequest => ({ query: '', authorization: '', protocols: '', openaiBeta: '', ...r });
const bearer = `Bearer ${KEY}`;

interface Row {
  readonly name: string;
  readonly req: Partial<HandshakeRequest>;
  readonly expect: Partial<Omit<Handshake, 'refusal'>> & { refusal?: { code: string | null; closeCode: 3000 | 4000 } | null };
}

const ROWS: Row[] = [
  { name: 'Bearer header', req: { query: 'model=gpt-realtime', authorization: bearer }, expect: { apiKey: KEY, iface: 'ga', kind: 'realtime', model: 'gpt-realtime', protocol: '', refusal: null } },
  { name: 'lower-case bearer with extra spaces', req: { query: 'model=gpt-realtime', authorization: `  bearer   ${KEY}  ` }, expect: { apiKey: KEY, refusal: null } },
  {
    name: 'browser: key in a subprotocol, realtime protocol selected',
    req: { query: 'model=gpt-realtime', protocols: `realtime, openai-insecure-api-key.${KEY}` },
    expect: { apiKey: KEY, iface: 'ga', protocol: 'realtime', refusal: null },
  },
  {
    name: 'browser beta: openai-beta.realtime-v1 subprotocol',
    req: { query: 'model=gpt-4o-realtime-preview', protocols: `realtime,openai-insecure-api-key.${KEY},openai-beta.realtime-v1` },
    expect: { apiKey: KEY, iface: 'beta', protocol: 'realtime', model: 'gpt-4o-realtime-preview', refusal: null },
  },
  { name: 'beta via OpenAI-Beta header', req: { query: 'model=gpt-realtime', authorization: bearer, openaiBeta: 'realtime=v1' }, expect: { iface: 'beta', refusal: null } },
  { name: 'beta header among others', req: { query: 'model=gpt-realtime', authorization: bearer, openaiBeta: 'assistants=v2, realtime=v1' }, expect: { iface: 'beta' } },
  { name: 'unrelated OpenAI-Beta header stays GA', req: { query: 'model=gpt-realtime', authorization: bearer, openaiBeta: 'assistants=v2' }, expect: { iface: 'ga' } },
  { name: 'header wins over the protocol key', req: { query: 'model=gpt-realtime', authorization: 'Bearer header-key', protocols: 'openai-insecure-api-key.proto-key' }, expect: { apiKey: 'header-key' } },
  { name: 'protocol without realtime: first offered is answered', req: { query: 'model=gpt-realtime', authorization: bearer, protocols: 'foo, bar' }, expect: { protocol: 'foo' } },
  {
    name: 'transcription intent',
    req: { query: 'intent=transcription', authorization: bearer },
    expect: { kind: 'transcription', model: null, refusal: null },
  },
  { name: 'no credentials', req: { query: 'model=gpt-realtime' }, expect: { apiKey: null, refusal: { code: null, closeCode: 3000 } } },
  { name: 'Basic auth is not a key', req: { query: 'model=gpt-realtime', authorization: 'Basic dXNlcjpwYXNz' }, expect: { apiKey: null, refusal: { code: null, closeCode: 3000 } } },
  { name: 'empty bearer', req: { query: 'model=gpt-realtime', authorization: 'Bearer ' }, expect: { refusal: { code: null, closeCode: 3000 } } },
  { name: 'empty protocol key', req: { query: 'model=gpt-realtime', protocols: 'realtime, openai-insecure-api-key.' }, expect: { refusal: { code: null, closeCode: 3000 } } },
  { name: 'credentials checked before the model', req: { query: '' }, expect: { refusal: { code: null, closeCode: 3000 } } },
  { name: 'missing model', req: { query: '', authorization: bearer }, expect: { refusal: { code: 'missing_model', closeCode: 4000 } } },
  { name: 'only other params', req: { query: 'foo=bar', authorization: bearer }, expect: { refusal: { code: 'missing_model', closeCode: 4000 } } },
  { name: 'model and intent', req: { query: 'model=gpt-realtime&intent=transcription', authorization: bearer }, expect: { refusal: { code: 'invalid_request', closeCode: 4000 } } },
  { name: 'call_id sideband', req: { query: 'call_id=rtc_123', authorization: bearer }, expect: { refusal: { code: 'unsupported_call_id', closeCode: 4000 } } },
  { name: 'model and call_id', req: { query: 'model=gpt-realtime&call_id=rtc_123', authorization: bearer }, expect: { refusal: { code: 'invalid_request', closeCode: 4000 } } },
  { name: 'unknown intent', req: { query: 'intent=translation', authorization: bearer }, expect: { refusal: { code: 'invalid_intent', closeCode: 4000 } } },
  { name: 'empty model', req: { query: 'model=', authorization: bearer }, expect: { refusal: { code: 'invalid_model', closeCode: 4000 } } },
  { name: 'model with spaces', req: { query: 'model=gpt%20realtime', authorization: bearer }, expect: { refusal: { code: 'invalid_model', closeCode: 4000 } } },
  { name: 'model too long', req: { query: `model=${'m'.repeat(129)}`, authorization: bearer }, expect: { refusal: { code: 'invalid_model', closeCode: 4000 } } },
  { name: 'model with a path and a tag', req: { query: 'model=org/gpt-realtime:2025-08-28', authorization: bearer }, expect: { model: 'org/gpt-realtime:2025-08-28', refusal: null } },
  { name: 'refusal still reports the interface', req: { query: '', authorization: bearer, openaiBeta: 'realtime=v1' }, expect: { iface: 'beta', refusal: { code: 'missing_model', closeCode: 4000 } } },
];

for (const row of ROWS) {
  test(`parseHandshake: ${row.name}`, () => {
    const h = parseHandshake(req(row.req));
    const { refusal, ...rest } = row.expect;
    for (const [k, v] of Object.entries(rest)) assert.deepEqual(h[k as keyof Handshake], v, k);
    if (refusal === null) assert.equal(h.refusal, null, JSON.stringify(h.refusal));
    if (refusal) {
      assert.ok(h.refusal, 'expected a refusal');
      assert.equal(h.refusal.code, refusal.code);
      assert.equal(h.refusal.closeCode, refusal.closeCode);
      assert.equal(h.refusal.type, 'invalid_request_error');
      assert.ok(h.refusal.message.length > 0);
    }
  });
}

test('parseHandshake: refusal messages in OpenAI wording', () => {
  assert.equal(parseHandshake(req({ query: 'model=gpt-realtime' })).refusal?.message, 'Missing bearer or basic authentication in header');
  assert.match(parseHandshake(req({ authorization: bearer })).refusal?.message ?? '', /model/);
});

test('parseHandshake: an echoed refusal never contains more than 64 characters of client input', () => {
  const long = 'x'.repeat(5000);
  for (const query of [`model=${long}`, `intent=${long}`]) {
    const h = parseHandshake(req({ query, authorization: bearer }));
    assert.ok(h.refusal);
    assert.ok(!h.refusal.message.includes('x'.repeat(65)), h.refusal.message.slice(0, 120));
  }
});

test('maskKey: shows the first 5 and last 4 characters, hides short keys entirely', () => {
  const rows: Array<[string, string]> = [
    ['sk-test-1234', 'sk-te****1234'],
    ['sk-proj-abcdefghijklmnopqrstuvwxyz', 'sk-pr****wxyz'],
    ['123456789', '12345****6789'],
    ['12345678', '****'],
    ['short', '****'],
    ['', '****'],
  ];
  for (const [key, masked] of rows) assert.equal(maskKey(key), masked, key);
});
