// Groups a stream of messages into batches for work that is cheaper in bulk (database writes): a
// batch starts with the first message to arrive and closes when it holds `max` messages or
// `lingerMs` after it started, whichever comes first. Messages already buffered by the client join
// at once; a quiet stream costs one timer per batch, never a busy wait.

/** Batches of `source`, each of 1..max items, at most `lingerMs` after its first item arrived. */
export async function* inBatches<T>(source: AsyncIterable<T>, max: number, lingerMs: number): AsyncGenerator<T[]> {
  const it = source[Symbol.asyncIterator]();
  // A next() that the linger timer beat: its item opens the following batch.
  let carried: Promise<IteratorResult<T>> | undefined;
  for (;;) {
    const first = await (carried ?? it.next());
    carried = undefined;
    if (first.done) return;
    const batch = [first.value];
    const closesAt = performance.now() + lingerMs;
    let ended = false;
    while (batch.length < max) {
      const next = it.next();
      const left = closesAt - performance.now();
      let timer: NodeJS.Timeout | undefined;
      const r = left > 0 ? await Promise.race([next, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), left)))]) : null;
      clearTimeout(timer);
      if (r === null) {
        carried = next;
        break;
      }
      if (r.done) {
        ended = true;
        break;
      }
      batch.push(r.value);
    }
    yield batch;
    if (ended) return;
  }
}
