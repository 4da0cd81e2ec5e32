// Running a local engine binary (pocketsphinx, espeak-ng) as a child process: input on stdin,
// output collected with a size bound, killed on abort or timeout. Never blocks the event loop.
import { spawn } from 'node:child_process';
import { CancelledError, EngineError } from './errors.ts';

export interface RunOptions {
  readonly stdin?: Uint8Array | string;
  readonly signal?: AbortSignal;
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
  /** Receives stdout as it arrives (streaming consumers); the full output is still returned. */
  readonly onStdout?: (chunk: Buffer) => void;
}

export function runProcess(engine: string, cmd: string, args: readonly string[], o: RunOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) {
      reject(new CancelledError());
      return;
    }
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outBytes = 0;
    let errText = '';
    let settled = false;
    const finish = (err: Error | null, value?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(value!);
    };
    const onAbort = () => {
      child.kill('SIGKILL');
      finish(new CancelledError());
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new EngineError(engine, 'engine_timeout', `${cmd} did not finish within ${o.timeoutMs} ms`, { retryable: true }));
    }, o.timeoutMs);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err: NodeJS.ErrnoException) => {
      const missing = err.code === 'ENOENT';
      finish(new EngineError(engine, missing ? 'engine_unavailable' : 'engine_error', missing ? `${cmd} is not installed` : err.message, { cause: err }));
    });
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > o.maxOutputBytes) {
        child.kill('SIGKILL');
        finish(new EngineError(engine, 'engine_output_too_large', `${cmd} produced more than ${o.maxOutputBytes} bytes`));
        return;
      }
      out.push(chunk);
      o.onStdout?.(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (errText.length < 4096) errText += chunk.toString();
    });
    child.on('close', (code) => {
      if (code === 0) finish(null, Buffer.concat(out));
      else finish(new EngineError(engine, 'engine_error', `${cmd} exited with ${code}: ${errText.trim().slice(0, 500)}`, { retryable: true }));
    });
    // EPIPE when the child exits early is reported through 'close'; ignore it here.
    child.stdin.on('error', () => undefined);
    child.stdin.end(o.stdin ?? '');
  });
}
