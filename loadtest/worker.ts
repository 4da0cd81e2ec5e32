// Entry of a loadtest worker process (forked by workers.ts through tsx): loads the cached corpus,
// runs its share of sessions, each starting at its ramp slot, and streams every turn and session
// record to the parent over IPC. Stops early on `stop` from the parent or when the parent goes away.
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeAppends } from './audio-pump.ts';
import { readUtterancePcm } from './corpus.ts';
import { runSession, type LoadedUtterance } from './session.ts';
import { epochNow, type FromWorker, type ToWorker } from './types.ts';

const stop = new AbortController();

function emit(msg: FromWorker): void {
  if (process.connected) process.send?.(msg);
}

async function run(msg: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  const { config } = msg;
  const corpus: LoadedUtterance[] = await Promise.all(
    msg.corpus.map(async (meta) => ({ meta, audio: encodeAppends(await readUtterancePcm(meta), { start: meta.voicedStart, end: meta.voicedEnd }, config.chunkMs, config.noiseDbfs) })),
  );
  const now = () => epochNow() - msg.runStartEpochMs;
  setMaxListeners(2 * msg.sessions.length + 10, stop.signal); // a ramp timer and a relay per session, by design
  await Promise.all(
    msg.sessions.map(async (session) => {
      const startAt = session * config.rampMs;
      if (startAt > now()) await sleep(startAt - now(), undefined, { signal: stop.signal }).catch(() => undefined);
      if (stop.signal.aborted) return;
      const record = await runSession({ config, session, worker: msg.worker, corpus, now, signal: stop.signal, emit });
      emit({ type: 'session', record });
    }),
  );
}

// Ctrl-C reaches every process of the terminal's group; the parent decides when we stop.
process.on('SIGINT', () => undefined);
process.on('disconnect', () => stop.abort());
process.on('message', (raw) => {
  const msg = raw as ToWorker;
  if (msg.type === 'stop') {
    stop.abort();
    return;
  }
  run(msg)
    .then(() => {
      const cpu = process.cpuUsage();
      emit({ type: 'done', cpuMs: (cpu.user + cpu.system) / 1000 });
    })
    .catch((err: unknown) => emit({ type: 'fatal', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
  // The parent disconnects us after `done` (every record sent before it has arrived); we then exit.
});
emit({ type: 'ready' });
