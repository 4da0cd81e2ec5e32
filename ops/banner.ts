// What `npm start` prints once everything is up: where to connect, the key, and a client snippet
// using the official `openai` SDK that works exactly as printed.
import type { Running } from './runtime.ts';

export function printBanner(running: Running, embedded: boolean): void {
  const gw = running.gateway!;
  const key = running.config.gateway.apiKeys[0]?.key ?? '<your key>';
  const host = running.config.gateway.host === '0.0.0.0' ? 'localhost' : running.config.gateway.host;
  const certHint = gw.selfSignedCert ? ` NODE_EXTRA_CA_CERTS=${gw.certFile}` : '';
  const lines = [
    '',
    '  Parley is running.',
    '',
    `  Realtime (TLS)   wss://${host}:${gw.tlsPort}/v1/realtime?model=gpt-realtime${gw.selfSignedCert ? '   (self-signed certificate)' : ''}`,
    `  Realtime (plain) ws://${host}:${gw.port}/v1/realtime?model=gpt-realtime`,
    `  Health           http://${host}:${gw.port}/health   /ready   /metrics`,
    `  NATS             ${running.natsUrl}${embedded && !running.config.nats.url ? '   (embedded nats-server)' : ''}`,
    `  Database         ${running.config.db.url ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${running.config.dataDir}/pgdata`}`,
    `  API key          ${key}`,
    '',
    '  Try it with the official openai SDK (npm i openai ws), saved as client.mjs:',
    '',
    "    import OpenAI from 'openai';",
    "    import { OpenAIRealtimeWS } from 'openai/realtime/ws';",
    `    const client = new OpenAI({ apiKey: '${key}', baseURL: 'https://${host}:${gw.tlsPort}/v1' });`,
    "    const rt = new OpenAIRealtimeWS({ model: 'gpt-realtime' }, client);",
    "    rt.socket.on('open', () => {",
    "      rt.send({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'] } });",
    "      rt.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hello Parley' }] } });",
    "      rt.send({ type: 'response.create' });",
    '    });',
    "    rt.on('response.output_text.delta', (e) => process.stdout.write(e.delta));",
    "    rt.on('response.done', () => { console.log(); rt.close(); });",
    '',
    `  and run it with:${certHint} node client.mjs`,
    '',
    '  Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
