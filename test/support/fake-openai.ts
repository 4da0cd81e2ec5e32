// A fake OpenAI-compatible provider speaking the real HTTP protocol (the other side of the engine
// boundary): streaming chat completions as SSE, /v1/audio/transcriptions (multipart) and
// /v1/audio/speech (raw PCM). Each endpoint's behaviour is scripted by the test; requests are kept.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type ChatStep =
  | { text: string; delayMs?: number }
  | { toolCall: { id: string; name: string; arguments: string }; delayMs?: number }
  | { status: number; error?: string };

export interface FakeOpenAI {
  readonly baseURL: string;
  readonly requests: Array<{ path: string; headers: http.IncomingHttpHeaders; body: Buffer; at: number }>;
  /** Script for the next chat completion requests (the last script repeats). */
  chat: ChatStep[];
  /** When the last chunk of the latest chat stream was written. */
  lastChatFinishedAt: number;
  transcription: { text: string; status?: number; delayMs?: number };
  speech: { status?: number; ms: number; chunkBytes: number; delayMs?: number };
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tone(ms: number): Buffer {
  const n = Math.round((24_000 * ms) / 1000);
  const b = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 24_000)), i * 2);
  return b;
}

export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const fake: Omit<FakeOpenAI, 'baseURL' | 'close'> = {
    requests: [],
    chat: [{ text: 'Hello from the fake model.' }],
    lastChatFinishedAt: 0,
    transcription: { text: 'hello from the fake transcriber' },
    speech: { ms: 600, chunkBytes: 4_001 },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = (req.url ?? '').replace(/\?.*$/, '');
      fake.requests.push({ path, headers: req.headers, body, at: performance.now() });
      void handle(path, body, res).catch(() => res.destroy());
    });
  });

  async function handle(path: string, body: Buffer, res: http.ServerResponse): Promise<void> {
    if (path.endsWith('/chat/completions')) {
      const failure = fake.chat.find((s): s is { status: number; error?: string } => 'status' in s);
      if (failure) {
        res.writeHead(failure.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: failure.error ?? 'scripted failure', type: 'server_error' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: 'fake' };
      const send = (choice: unknown, extra: Record<string, unknown> = {}) => res.write(`data: ${JSON.stringify({ ...base, choices: choice ? [choice] : [], ...extra })}\n\n`);
      send({ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null });
      let calls = 0;
      let out = 0;
      for (const step of fake.chat) {
        if ('delayMs' in step && step.delayMs) await sleep(step.delayMs);
        if ('text' in step) {
          // Stream word by word, like a model.
          for (const piece of step.text.split(/(?<=\s)/)) {
            send({ index: 0, delta: { content: piece }, finish_reason: null });
            out++;
          }
        } else if ('toolCall' in step) {
          const i = calls++;
          const args = step.toolCall.arguments;
          const half = Math.floor(args.length / 2);
          send({ index: 0, delta: { tool_calls: [{ index: i, id: step.toolCall.id, type: 'function', function: { name: step.toolCall.name, arguments: args.slice(0, half) } }] }, finish_reason: null });
          send({ index: 0, delta: { tool_calls: [{ index: i, function: { arguments: args.slice(half) } }] }, finish_reason: null });
        }
      }
      send({ index: 0, delta: {}, finish_reason: calls ? 'tool_calls' : 'stop' });
      const request = JSON.parse(body.toString()) as { stream_options?: { include_usage?: boolean } };
      if (request.stream_options?.include_usage) send(null, { usage: { prompt_tokens: 42, completion_tokens: out, total_tokens: 42 + out } });
      res.write('data: [DONE]\n\n');
      fake.lastChatFinishedAt = performance.now();
      res.end();
      return;
    }
    if (path.endsWith('/audio/transcriptions')) {
      if (fake.transcription.delayMs) await sleep(fake.transcription.delayMs);
      const status = fake.transcription.status ?? 200;
      const isMultipart = body.includes(Buffer.from('name="file"')) && body.includes(Buffer.from('RIFF'));
      if (status !== 200 || !isMultipart) {
        res.writeHead(status === 200 ? 400 : status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: isMultipart ? 'scripted failure' : 'expected a multipart upload with a WAV file', type: 'invalid_request_error' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ text: fake.transcription.text }));
      return;
    }
    if (path.endsWith('/audio/speech')) {
      if (fake.speech.status && fake.speech.status !== 200) {
        res.writeHead(fake.speech.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'scripted failure', type: 'server_error' } }));
        return;
      }
      const pcm = tone(fake.speech.ms);
      res.writeHead(200, { 'content-type': 'audio/pcm' });
      for (let at = 0; at < pcm.length; at += fake.speech.chunkBytes) {
        if (fake.speech.delayMs) await sleep(fake.speech.delayMs);
        res.write(pcm.subarray(at, at + fake.speech.chunkBytes));
      }
      res.end();
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: `no route ${path}` } }));
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(fake, {
    baseURL: `http://127.0.0.1:${port}/v1`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}
