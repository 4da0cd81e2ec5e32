// Tests for the sentence splitter: text in -> speakable pieces out, the same pieces however the
// stream is cut into deltas, abbreviations and decimals kept whole, run-ons cut, nothing lost.
import { seededRandom as rng } from '../../test/support/random.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SentenceSplitter } from './sentence-splitter.ts';

/** Push the deltas in order, then flush: every piece the splitter produces. */
function split(deltas: readonly string[]): string[] {
  const s = new SentenceSplitter();
  const out: string[] = [];
  for (const d of deltas) out.push(...s.push(d));
  const rest = s.flush();
  if (rest !== null) out.push(rest);
  return out;
}


/** Cut text into random deltas of 1..maxLen characters (like LLM tokens). */
function randomDeltas(text: string, next: () => number, maxLen: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    const n = 1 + Math.floor(next() * maxLen);
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}

const norm = (s: string): string => s.replace(/\s+/g, ' ').trim();

const TABLE: Array<[string, string[]]> = [
  ['Hello there, how are you doing today? I am fine, thanks. ', ['Hello there, how are you doing today?', 'I am fine, thanks.']],
  ['Dr. Smith will see you at noon today. Thanks for waiting!', ['Dr. Smith will see you at noon today.', 'Thanks for waiting!']],
  ['Bring tools, e.g. a hammer or a wrench. Then rest a while.', ['Bring tools, e.g. a hammer or a wrench.', 'Then rest a while.']],
  ['Bring snacks, i.e. fruit and nuts and water. Thanks a lot.', ['Bring snacks, i.e. fruit and nuts and water.', 'Thanks a lot.']],
  ['I met Mr. and Mrs. Jones at St. Mary\'s church. It was nice.', ["I met Mr. and Mrs. Jones at St. Mary's church.", 'It was nice.']],
  ['J. R. R. Tolkien wrote many books. He was English.', ['J. R. R. Tolkien wrote many books.', 'He was English.']],
  ['The price is 3.5 dollars per unit today. It was 2.75 before.', ['The price is 3.5 dollars per unit today.', 'It was 2.75 before.']],
  ['Version 1.2.3 is out now for everyone! Update soon.', ['Version 1.2.3 is out now for everyone!', 'Update soon.']],
  ['Really?! That is amazing news. Tell me more…  Please do.', ['Really?! That is amazing news.', 'Tell me more…', 'Please do.']],
  ['Wait... what happened here? Nothing much.', ['Wait... what happened here?', 'Nothing much.']],
  ['She said "stop right there." Then she left the room.', ['She said "stop right there."', 'Then she left the room.']],
  ['(This is an aside.) Back to the main point now.', ['(This is an aside.)', 'Back to the main point now.']],
  ['First line without punctuation\nSecond line\n\nThird', ['First line without punctuation', 'Second line', 'Third']],
  // Pieces shorter than 12 characters are joined with what follows.
  ['Hi. Yes. OK then, let us begin the lesson. ', ['Hi. Yes. OK then, let us begin the lesson.']],
  ['Sure. ', ['Sure.']],
  ['No punctuation at all', ['No punctuation at all']],
  ['', []],
  ['   \n  ', []],
];

test('table: text -> pieces', () => {
  for (const [text, pieces] of TABLE) assert.deepEqual(split([text]), pieces, JSON.stringify(text));
});

test('streaming: any cut into deltas gives the same pieces as one push', () => {
  const next = rng(42);
  for (const [text, pieces] of TABLE) {
    assert.deepEqual(split([...text]), pieces, `char by char: ${JSON.stringify(text)}`);
    for (let n = 0; n < 50; n++) {
      const deltas = randomDeltas(text, next, 1 + (n % 8));
      assert.deepEqual(split(deltas), pieces, JSON.stringify(deltas));
    }
  }
});

test('streaming: a piece is returned as soon as the whitespace after its end arrives', () => {
  const s = new SentenceSplitter();
  assert.deepEqual(s.push('The weather is fine today'), []);
  assert.deepEqual(s.push('.'), [], 'a period may still be an abbreviation or a decimal');
  assert.deepEqual(s.push(' '), ['The weather is fine today.']);
  assert.deepEqual(s.push('It is 3.'), []);
  assert.deepEqual(s.push('5 degrees outside. And'), ['It is 3.5 degrees outside.']);
  assert.equal(s.flush(), 'And');
});

test('long run-ons are cut at a comma, then at a space; nothing is lost', () => {
  const withCommas = Array.from({ length: 90 }, (_, i) => `word${i}${i % 12 === 11 ? ',' : ''}`).join(' ');
  const noCommas = Array.from({ length: 120 }, (_, i) => `word${i}`).join(' ');
  const next = rng(3);
  for (const text of [withCommas, noCommas]) {
    for (const deltas of [[text], [...text], randomDeltas(text, next, 6)]) {
      const pieces = split(deltas);
      assert.ok(pieces.length > 1, 'a run-on is cut');
      for (const p of pieces) assert.ok(p.length <= 300, `piece of ${p.length} characters`);
      assert.equal(norm(pieces.join(' ')), norm(text), 'no text lost or duplicated');
    }
  }
  // Streamed (the normal case: one token at a time), comma cuts keep pieces near the soft limit.
  const streamed = split([...withCommas]);
  for (const p of streamed.slice(0, -1)) {
    assert.ok(p.endsWith(','), `cut at a comma: ...${p.slice(-20)}`);
    assert.ok(p.length <= 161, `soft limit: ${p.length}`);
  }
});

test('cuts never split a word', () => {
  const words = Array.from({ length: 200 }, (_, i) => `w${i}x`);
  const pieces = split([words.join(' ')]);
  const seen = pieces.flatMap((p) => p.split(' '));
  assert.deepEqual(seen, words);
});

test('flush returns the trimmed rest once, then null', () => {
  const s = new SentenceSplitter();
  assert.deepEqual(s.push('  trailing words without an end  '), []);
  assert.equal(s.flush(), 'trailing words without an end');
  assert.equal(s.flush(), null);
  assert.deepEqual(s.push('A fresh start after flush. '), ['A fresh start after flush.']);
  assert.equal(s.flush(), null);
});

test('no text is lost or duplicated for random text in random cuts', () => {
  const next = rng(99);
  const vocab = ['Dr.', 'e.g.', '3.5', 'hello', 'world,', 'yes.', 'no!', 'why?', 'ok', 'the', 'end.', '\n', 'J.', '...', 'a', 'x'.repeat(30)];
  for (let n = 0; n < 200; n++) {
    const text = Array.from({ length: 5 + Math.floor(next() * 80) }, () => vocab[Math.floor(next() * vocab.length)]!).join(' ');
    const pieces = split(randomDeltas(text, next, 1 + Math.floor(next() * 10)));
    assert.equal(norm(pieces.join(' ')), norm(text), JSON.stringify(text));
    for (const p of pieces) assert.equal(p, p.trim(), 'pieces are trimmed');
    for (const p of pieces) assert.ok(p.length > 0, 'no empty pieces');
  }
});
