// The README documents every environment variable the config module reads, and starts with the
// two commands CI and users rely on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';

test('every environment variable read by lib/config.ts is documented in the README', async () => {
  const config = await readFile(new URL('../lib/config.ts', import.meta.url), 'utf8');
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const names = new Set([...config.matchAll(/'((?:PARLEY|OPENAI|OTEL)_[A-Z_]+|NATS_URL|DATABASE_URL)'/g)].map((m) => m[1]!));
  assert.ok(names.size > 30, `found ${names.size} variables`);
  const missing = [...names].filter((n) => !readme.includes(`\`${n}\``));
  assert.deepEqual(missing, []);
});

test('the README starts with exactly the two commands', async () => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  assert.deepEqual(block.trim().split('\n').map((l) => l.split('#')[0]!.trim()), ['npm start', 'npm test']);
  assert.ok(readme.indexOf('```sh') < 20, 'the commands come first');
});
