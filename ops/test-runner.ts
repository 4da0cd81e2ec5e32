// `npm test`: finds every *.test.ts and runs them with Node's own test runner (through tsx), one
// file at a time (integration tests run real-time audio and start their own nats-server).
// Arguments narrow the run: `npm test -- gateway/` runs the files whose path contains "gateway/".
// PARLEY_SKIP_INTEGRATION=1 skips test/integration (the quick inner loop).
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

const ROOTS = ['gateway', 'stages', 'subjects', 'schemas', 'lib', 'ops', 'loadtest', 'test'];
const root = path.resolve(import.meta.dirname, '..');

async function find(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await find(p)));
    else if (e.name.endsWith('.test.ts')) out.push(path.relative(root, p));
  }
  return out;
}

const filters = process.argv.slice(2);
let files = (await Promise.all(ROOTS.map((r) => find(path.join(root, r))))).flat().sort();
if (process.env['PARLEY_SKIP_INTEGRATION']) files = files.filter((f) => !f.startsWith('test/integration/'));
if (filters.length) files = files.filter((f) => filters.some((flt) => f.includes(flt)));
// Unit tests first: they fail fast.
files.sort((a, b) => Number(a.startsWith('test/')) - Number(b.startsWith('test/')) || a.localeCompare(b));

const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, NODE_ENV: 'test' },
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
