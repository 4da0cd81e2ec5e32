// The strict base64 check on the append hot path: anything Node's lenient decoder would skip is
// refused, valid input decodes to exactly its bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBase64Strict } from './client-events.ts';

test('decodeBase64Strict accepts exactly well-formed base64', () => {
  const cases: Array<[string, number | null]> = [
    ['', 0],
    ['AAAA', 3],
    ['AAA=', 2],
    ['AA==', 1],
    ['AQID', 3],
    ['###not base64###', null],
    ['AB C', null],
    ['AAAA====', null],
    ['A=AA', null],
    ['AAA', null],
    ['AAAA\n', null],
  ];
  for (const [text, len] of cases) assert.equal(decodeBase64Strict(text)?.length ?? null, len, JSON.stringify(text));
  const bytes = new Uint8Array(4801).map((_, i) => (i * 7) % 256);
  assert.deepEqual(new Uint8Array(decodeBase64Strict(Buffer.from(bytes).toString('base64'))!), bytes);
});
