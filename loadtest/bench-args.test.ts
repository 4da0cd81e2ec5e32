// Every bench script answers --help with its usage and options (exit 0, before any work), and names
// an unknown option instead of printing a stack trace (exit 2).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const SCRIPTS = ['bench-failover', 'bench-idle', 'bench-ingest', 'bench-pipeline', 'bench-state', 'bench-vad', 'turn-latency'];
const run = (script: string, arg: string) => spawnSync(process.execPath, ['--import', 'tsx', `loadtest/${script}.ts`, arg], { cwd: root, encoding: 'utf8', timeout: 60_000 });

describe('bench scripts: command line', () => {
  for (const script of SCRIPTS) {
    it(`${script}: --help prints the usage and options; an unknown option is named`, () => {
      const help = run(script, '--help');
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, new RegExp(`Usage: node --import tsx loadtest/${script}\\.ts`));
      assert.match(help.stdout, /options:\n {2}--\w/);
      const bad = run(script, '--no-such-option');
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /Unknown option '--no-such-option'/);
      assert.doesNotMatch(bad.stderr, /^\s+at /m, 'no stack trace');
    });
  }
});
