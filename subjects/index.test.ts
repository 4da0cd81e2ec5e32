// Tests for the NATS name catalogue: the subjects it builds, the tokens it refuses, names without
// dots, and that the stream/consumer definitions built from it fit together (every consumer filter
// inside its stream, no two streams claiming the same subject, cancel staying on core NATS).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketDefinitions, consumerDefinitions, createCatalogue, streamDefinitions, type TopologyOptions } from './index.ts';

const cat = createCatalogue({ prefix: 'parley', partitions: 16 });
const TOPOLOGY: TopologyOptions = {
  replicas: 1,
  audioMaxAgeMs: 60_000,
  outboxMaxAgeMs: 60_000,
  conversationMaxAgeMs: 86_400_000,
  jobMaxDeliver: 3,
  sessionTtlMs: 3_600_000,
  leaseTtlMs: 10_000,
  heartbeatTtlMs: 30_000,
  ephemeralKeyTtlMs: 600_000,
};

/** NATS subject matching: `*` one token, `>` one or more trailing tokens. */
function matches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (f[i] !== '*' && f[i] !== s[i]) return false;
  }
  return f.length === s.length;
}

/** Could one subject match both filters? (Streams may not overlap.) */
function overlaps(a: string, b: string): boolean {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] === '>' || y[i] === '>') return x[i] !== undefined && y[i] !== undefined;
    if (x[i] === undefined || y[i] === undefined) return false;
    if (x[i] !== '*' && y[i] !== '*' && x[i] !== y[i]) return false;
  }
  return true;
}

test('subject matcher used below behaves like NATS', () => {
  const rows: Array<[string, string, boolean]> = [
    ['a.*', 'a.b', true],
    ['a.*', 'a.b.c', false],
    ['a.>', 'a.b.c', true],
    ['a.>', 'a', false],
    ['a.b', 'a.b', true],
    ['a.*.c', 'a.b.c', true],
  ];
  for (const [f, s, m] of rows) assert.equal(matches(f, s), m, `${f} ~ ${s}`);
});

test('subjects: the catalogue builds the expected strings', () => {
  const s = cat.subjects;
  const rows: Array<[string, string]> = [
    [s.audio(3, 'sess_abc'), 'parley.audio.3.sess_abc'],
    [s.audio(0, 'sess_abc'), 'parley.audio.0.sess_abc'],
    [s.audio(15, 'sess_abc'), 'parley.audio.15.sess_abc'],
    [s.audioPartition(7), 'parley.audio.7.*'],
    [s.audioAll(), 'parley.audio.>'],
    [s.utteranceChunk('sess_abc', 'item_1', 2), 'parley.utt.sess_abc.item_1.2'],
    [s.utteranceAll(), 'parley.utt.>'],
    [s.sttJob('sess_abc'), 'parley.job.stt.sess_abc'],
    [s.llmJob('sess_abc'), 'parley.job.llm.sess_abc'],
    [s.ttsJob('sess_abc'), 'parley.job.tts.sess_abc'],
    [s.jobsAll('stt'), 'parley.job.stt.*'],
    [s.jobsAll('tts'), 'parley.job.tts.*'],
    [s.conversation('sess_abc'), 'parley.conv.sess_abc'],
    [s.conversationAll(), 'parley.conv.*'],
    [s.outbox('gw-1', 'sess_abc'), 'parley.out.gw-1.sess_abc'],
    [s.outboxGateway('gw-1'), 'parley.out.gw-1.*'],
    [s.outboxAll(), 'parley.out.>'],
    [s.cancel('sess_abc'), 'parley.cancel.sess_abc'],
    [s.cancelAll(), 'parley.cancel.*'],
    [s.deadLetter('tts'), 'parley.dlq.tts'],
    [s.deadLetterAll(), 'parley.dlq.*'],
    [s.benchHop(), 'parley.bench.hop'],
  ];
  for (const [actual, expected] of rows) assert.equal(actual, expected);
});

test('subjects: each wildcard form matches the concrete subjects it stands for', () => {
  const s = cat.subjects;
  const rows: Array<[string, string]> = [
    [s.audioPartition(3), s.audio(3, 'sess_x')],
    [s.audioAll(), s.audio(3, 'sess_x')],
    [s.utteranceAll(), s.utteranceChunk('sess_x', 'item_y', 0)],
    [s.jobsAll('llm'), s.llmJob('sess_x')],
    [s.conversationAll(), s.conversation('sess_x')],
    [s.outboxGateway('gw1'), s.outbox('gw1', 'sess_x')],
    [s.outboxAll(), s.outbox('gw1', 'sess_x')],
    [s.cancelAll(), s.cancel('sess_x')],
    [s.deadLetterAll(), s.deadLetter('llm')],
  ];
  for (const [filter, subject] of rows) assert.ok(matches(filter, subject), `${filter} ~ ${subject}`);
  assert.equal(matches(s.audioPartition(3), s.audio(4, 'sess_x')), false);
  assert.equal(matches(s.outboxGateway('gw1'), s.outbox('gw2', 'sess_x')), false);
  assert.equal(matches(s.jobsAll('stt'), s.llmJob('sess_x')), false);
});

const BAD_TOKENS = ['a.b', '*', '>', 'a b', '', 'sess.*', 'x>', 'tab\there', 'new\nline', 'ünïcode', 'a/b'];

test('subjects: tokens with dots, wildcards, spaces (or empty) are refused everywhere', () => {
  const s = cat.subjects;
  const builders: Array<[string, (t: string) => string]> = [
    ['audio', (t) => s.audio(0, t)],
    ['utterance session', (t) => s.utteranceChunk(t, 'item_1', 0)],
    ['utterance item', (t) => s.utteranceChunk('sess_1', t, 0)],
    ['stt job', (t) => s.sttJob(t)],
    ['llm job', (t) => s.llmJob(t)],
    ['tts job', (t) => s.ttsJob(t)],
    ['conversation', (t) => s.conversation(t)],
    ['outbox gateway', (t) => s.outbox(t, 'sess_1')],
    ['outbox session', (t) => s.outbox('gw1', t)],
    ['outbox gateway filter', (t) => s.outboxGateway(t)],
    ['cancel', (t) => s.cancel(t)],
    ['dead letter', (t) => s.deadLetter(t)],
  ];
  for (const [name, build] of builders) {
    assert.doesNotThrow(() => build('Ok_token-1'), name);
    for (const bad of BAD_TOKENS) assert.throws(() => build(bad), /invalid/, `${name} accepted ${JSON.stringify(bad)}`);
  }
  for (const bad of BAD_TOKENS) assert.throws(() => createCatalogue({ prefix: bad, partitions: 4 }), /invalid/, `prefix ${JSON.stringify(bad)}`);
});

test('subjects: partitions outside 0..P-1 are refused', () => {
  for (const p of [-1, 16, 17, 1.5, Number.NaN]) {
    assert.throws(() => cat.subjects.audio(p, 'sess_1'), /out of range/, String(p));
    assert.throws(() => cat.subjects.audioPartition(p), /out of range/, String(p));
    assert.throws(() => cat.consumers.vadPartition(p), /out of range/, String(p));
  }
});

test('names: streams, consumers and buckets', () => {
  assert.deepEqual(cat.streams, {
    audio: 'PARLEY_AUDIO',
    utterances: 'PARLEY_UTTERANCES',
    jobs: 'PARLEY_JOBS',
    conversation: 'PARLEY_CONVERSATION',
    outbox: 'PARLEY_OUTBOX',
    deadLetters: 'PARLEY_DLQ',
    benchHop: 'PARLEY_BENCH_HOP',
  });
  assert.equal(cat.consumers.vadPartition(3), 'vad-p0003');
  assert.equal(cat.consumers.vadPartition(15), 'vad-p0015');
  assert.deepEqual(cat.buckets, { sessions: 'parley_sessions', heartbeats: 'parley_heartbeats', leases: 'parley_leases', checkpoints: 'parley_checkpoints', ephemeralKeys: 'parley_ephemeral_keys' });
});

test('heartbeats: a key, the subject a KV put of it uses (published to directly), the watch filter, and back', () => {
  const key = cat.subjects.heartbeatKey('sess_abc');
  assert.equal(key, 's.sess_abc');
  assert.equal(cat.subjects.heartbeat('sess_abc'), `$KV.${cat.buckets.heartbeats}.${key}`);
  assert.equal(cat.subjects.heartbeatKeyAll(), 's.>');
  assert.equal(cat.subjects.heartbeatSession(key), 'sess_abc');
  assert.throws(() => cat.subjects.heartbeat('bad.id'), /session id/);
});

test('names: no stream, consumer or bucket name has a dot, wildcard, space or path separator', () => {
  const streams = streamDefinitions(cat, TOPOLOGY);
  const consumers = consumerDefinitions(cat, TOPOLOGY);
  const buckets = bucketDefinitions(cat, TOPOLOGY);
  const names = [...streams.map((s) => s.name), ...consumers.map((c) => c.name), ...buckets.map((b) => b.name)];
  for (const name of names) assert.match(name, /^[A-Za-z0-9_-]+$/, name);
  assert.equal(new Set(streams.map((s) => s.name)).size, streams.length, 'stream names are unique');
  assert.equal(new Set(consumers.map((c) => `${c.stream}/${c.name}`)).size, consumers.length, 'consumer names are unique per stream');
  // One VAD consumer per partition plus stt, llm, tts, persist.
  assert.equal(consumerDefinitions(cat, TOPOLOGY).length, 4 + 16);
  assert.equal(consumerDefinitions(createCatalogue({ prefix: 'p', partitions: 3 }), TOPOLOGY).filter((c) => c.role === 'vad').length, 3);
});

test('topology: every consumer filter lies inside its stream; no two streams overlap', () => {
  const streams = streamDefinitions(cat, TOPOLOGY);
  const byName = new Map(streams.map((s) => [s.name, s]));
  for (const c of consumerDefinitions(cat, TOPOLOGY)) {
    const stream = byName.get(c.stream);
    assert.ok(stream, `${c.name}: unknown stream ${c.stream}`);
    // A concrete subject the filter is meant for must be captured by the stream.
    const sample = c.filterSubject.replace(/\*/g, 'x').replace(/>/g, 'x.y');
    assert.ok(
      stream.subjects.some((s) => matches(s, sample)),
      `${c.name}: ${c.filterSubject} not in ${stream.subjects.join(', ')}`,
    );
  }
  const all = streams.flatMap((s) => s.subjects.map((subject) => ({ stream: s.name, subject })));
  for (const a of all) {
    for (const b of all) {
      if (a.stream !== b.stream) assert.equal(overlaps(a.subject, b.subject), false, `${a.stream} ${a.subject} overlaps ${b.stream} ${b.subject}`);
    }
  }
});

test('topology: each concrete subject lands in exactly one stream; cancel lands in none', () => {
  const streams = streamDefinitions(cat, TOPOLOGY);
  const s = cat.subjects;
  const captured = (subject: string) => streams.filter((st) => st.subjects.some((f) => matches(f, subject))).map((st) => st.role);
  const rows: Array<[string, string[]]> = [
    [s.audio(5, 'sess_1'), ['audio']],
    [s.utteranceChunk('sess_1', 'item_1', 0), ['utterances']],
    [s.sttJob('sess_1'), ['jobs']],
    [s.llmJob('sess_1'), ['jobs']],
    [s.ttsJob('sess_1'), ['jobs']],
    [s.conversation('sess_1'), ['conversation']],
    [s.outbox('gw1', 'sess_1'), ['outbox']],
    [s.deadLetter('stt'), ['deadLetters']],
    // Cancels are core NATS broadcasts: a stream capturing them would put them behind audio.
    [s.cancel('sess_1'), []],
    // The pipeline bench's probe has a stream of its own, made and removed by the bench.
    [s.benchHop(), []],
  ];
  for (const [subject, roles] of rows) assert.deepEqual(captured(subject), roles, subject);
});

test('the audio stream is capped at 512 MiB unless PARLEY_AUDIO_MAX_BYTES (audioMaxBytes) says otherwise', () => {
  const audio = (o: TopologyOptions) => streamDefinitions(cat, o).find((d) => d.role === 'audio')!;
  assert.equal(audio(TOPOLOGY).maxBytes, 512 * 1024 * 1024);
  assert.equal(audio({ ...TOPOLOGY, audioMaxBytes: 2 * 1024 ** 3 }).maxBytes, 2 * 1024 ** 3);
});
