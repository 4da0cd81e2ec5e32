// `npm test`: finds every *.test.ts and runs them with Node's own test runner (through tsx), one
// file at a time (integration tests run real-time audio and start their own nats-server).
// Arguments narrow the run: `npm test -- gateway/` runs the files whose path contains "gateway/".
// PARLEY_SKIP_INTEGRATION=1 skips test/integration and test/containers (the quick inner loop);
// PARLEY_SKIP_CONTAINERS=1 skips only test/containers, the testcontainers suite, which runs last:
// before it starts, the Docker engine is made to answer (ops/containers/ensure-docker.sh) and the
// images are picked or built once (ops/containers/build-images.sh); when that fails the suite runs
// on spawned binaries and says so loudly.
import { execFile, spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

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
const CONTAINERS = 'test/containers/';
if (process.env['PARLEY_SKIP_INTEGRATION']) files = files.filter((f) => !f.startsWith('test/integration/') && !f.startsWith(CONTAINERS));
if (process.env['PARLEY_SKIP_CONTAINERS']) files = files.filter((f) => !f.startsWith(CONTAINERS));
if (filters.length) files = files.filter((f) => filters.some((flt) => f.includes(flt)));
// Unit tests first: they fail fast. The containers suite last: it is the slowest.
const rank = (f: string) => (f.startsWith(CONTAINERS) ? 2 : f.startsWith('test/') ? 1 : 0);
files.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));

/** Engine and images for the containers suite, prepared once here rather than in each file. */
async function prepareContainers(): Promise<Record<string, string>> {
  if (!files.some((f) => f.startsWith(CONTAINERS)) || process.env['PARLEY_FORCE_NO_DOCKER']) return {};
  const sh = promisify(execFile);
  const started = performance.now();
  try {
    await sh('sh', [path.join(root, 'ops/containers/ensure-docker.sh')], { cwd: root });
    const child = sh('sh', [path.join(root, 'ops/containers/build-images.sh')], { cwd: root });
    child.child.stderr?.pipe(process.stderr);
    const { stdout } = await child;
    const env = Object.fromEntries([...stdout.matchAll(/^(PARLEY_TEST_(?:NATS|POSTGRES)_IMAGE)=(.+)$/gm)].map((m) => [m[1]!, m[2]!]));
    process.stderr.write(`parley test runner: containers suite ready (${((performance.now() - started) / 1000).toFixed(1)} s): ${Object.values(env).join(', ')}\n`);
    return env;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    // The suite prints the loud warning itself and runs on spawned binaries.
    return { PARLEY_NO_DOCKER_REASON: (e.stderr?.trim() || e.message).split('\n').slice(-2).join(' ') };
  }
}

const containerEnv = await prepareContainers();
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, ...containerEnv, NODE_ENV: 'test' },
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
