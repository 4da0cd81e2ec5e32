// Conformance bookkeeping for one test file: every client event sent and every server event
// received, attributed to the test that opened the connection; each GA server event is run through
// @openai/agents-realtime's own zod parser (an event type in its union that parses as "generic" is
// silently dropped by that SDK, so it is a conformance failure), and every server event must carry
// a unique `event_id`. At the end of the file the table (event type, direction, count, passed) is
// printed and written as JSON to os.tmpdir()/parley-conformance/<file>.json for print-table.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';

type ParseRealtimeEvent = (e: { data: string }) => { data: unknown; raw: unknown; isGeneric: boolean };
interface AgentsEventsModule {
  parseRealtimeEvent: ParseRealtimeEvent;
  realtimeServerEventSchema: { options: Array<{ shape: { type: { value: string } } }> };
}
// Not exported from the package index: imported by path, the exact module the SDK runs.
const AGENTS_EVENTS = new URL('../../../node_modules/@openai/agents-realtime/dist/openaiRealtimeEvents.mjs', import.meta.url).href;
const agents = (await import(AGENTS_EVENTS)) as AgentsEventsModule;
/** Server event types @openai/agents-realtime knows (and validates). */
export const AGENTS_TYPES: ReadonlySet<string> = new Set(agents.realtimeServerEventSchema.options.map((o) => o.shape.type.value));

export type Iface = 'ga' | 'beta' | 'agents';

/** Server event names of one interface that must never reach a client of the other. */
const BETA_ONLY = /^(response\.(text|audio|audio_transcript)\.|conversation\.item\.created$|transcription_session\.)/;
const GA_ONLY = /^(response\.output_(text|audio|audio_transcript)\.|conversation\.item\.(added|done)$|input_audio_buffer\.timeout_triggered$)/;
/** WebRTC / SIP only: never over a WebSocket. */
const NOT_OVER_WEBSOCKET = /^(output_audio_buffer\.|input_audio_buffer\.dtmf_event_received$)/;
export type Direction = 'client->server' | 'server->client';

export interface TableRow {
  iface: Iface;
  dir: Direction;
  type: string;
  count: number;
  /** Seen in tests that passed (and, for GA server events, accepted by the agents schema). */
  passed: number;
  /** Seen in failing or todo (deviation) tests. */
  failed: number;
  /** GA server events the agents-realtime schema rejected (it would drop them). */
  schemaRejected: number;
}

export interface TestOutcome {
  name: string;
  status: 'pass' | 'fail' | 'deviation' | 'todo-passes';
  todo?: string;
  error?: string;
}

export interface FileReport {
  file: string;
  rows: TableRow[];
  tests: TestOutcome[];
  figures: Record<string, unknown>;
  violations: string[];
}

/** What one test saw; connections opened during the test record into it. */
export class Scope {
  readonly events: Array<{ iface: Iface; dir: Direction; type: string; schemaOk: boolean }> = [];
  readonly violations: string[] = [];
  constructor(readonly name: string) {}

  client(iface: Iface, type: string): void {
    this.events.push({ iface, dir: 'client->server', type, schemaOk: true });
  }

  /** A server event as it came off the wire (text). Returns the parsed event. */
  server(iface: Iface, text: string, seenIds: Set<string>): Record<string, unknown> & { type: string } {
    const ev = JSON.parse(text) as Record<string, unknown> & { type: string };
    let schemaOk = true;
    if (iface !== 'beta' && AGENTS_TYPES.has(ev.type)) {
      schemaOk = !agents.parseRealtimeEvent({ data: text }).isGeneric;
      if (!schemaOk) this.violations.push(`agents-realtime schema rejects ${ev.type}: ${text.slice(0, 300)}`);
    }
    if ((iface === 'beta' ? GA_ONLY : BETA_ONLY).test(ev.type)) this.violations.push(`${ev.type} sent to a ${iface === 'beta' ? 'beta' : 'GA'} client`);
    if (NOT_OVER_WEBSOCKET.test(ev.type)) this.violations.push(`${ev.type} is WebRTC/SIP only`);
    const id = ev['event_id'];
    if (typeof id !== 'string' || !id) this.violations.push(`${ev.type} has no event_id`);
    else if (seenIds.has(id)) this.violations.push(`${ev.type} repeats event_id ${id}`);
    else seenIds.add(id);
    this.events.push({ iface, dir: 'server->client', type: ev.type, schemaOk });
    return ev;
  }
}

export class Conformance {
  private readonly scopes: Array<{ scope: Scope; outcome: TestOutcome }> = [];
  readonly figures: Record<string, unknown> = {};
  /** The scope of the running test (tests in a file run one at a time). */
  current: Scope = new Scope('(setup)');

  constructor(private readonly file: string) {
    after(() => this.finish());
  }

  /**
   * A conformance test: events seen are attributed to it, and it fails on any agents-schema
   * rejection or missing / repeated event_id. `todo` marks a known Parley deviation.
   */
  test(name: string, fn: (scope: Scope) => Promise<void>, opts: { todo?: string; timeout?: number } = {}): void {
    const entry = this.entry(name);
    const { scope, outcome } = entry;
    if (opts.todo) outcome.todo = opts.todo;
    it(name, { timeout: opts.timeout ?? 60_000, ...(opts.todo ? { todo: opts.todo } : {}) }, async () => {
      this.current = scope;
      try {
        await fn(scope);
        if (scope.violations.length) throw new Error(`wire violations:\n  ${[...new Set(scope.violations)].slice(0, 10).join('\n  ')}`);
        outcome.status = opts.todo ? 'todo-passes' : 'pass';
      } catch (err) {
        outcome.status = opts.todo ? 'deviation' : 'fail';
        outcome.error = (err as Error).message.slice(0, 600);
        throw err;
      }
    });
  }

  /**
   * The scope of test `name`, created ahead of the test when a `before` hook starts something
   * (a connection, a timer) that the test checks later.
   */
  scope(name: string): Scope {
    return this.entry(name).scope;
  }

  private entry(name: string): { scope: Scope; outcome: TestOutcome } {
    let found = this.scopes.find((s) => s.scope.name === name);
    if (!found) this.scopes.push((found = { scope: new Scope(name), outcome: { name, status: 'pass' } }));
    return found;
  }

  report(): FileReport {
    const rows = new Map<string, TableRow>();
    const violations: string[] = [];
    for (const { scope, outcome } of this.scopes) {
      const ok = outcome.status === 'pass' || outcome.status === 'todo-passes';
      violations.push(...scope.violations.map((v) => `${scope.name}: ${v}`));
      for (const e of scope.events) {
        const key = `${e.iface}|${e.dir}|${e.type}`;
        const row = rows.get(key) ?? { iface: e.iface, dir: e.dir, type: e.type, count: 0, passed: 0, failed: 0, schemaRejected: 0 };
        row.count++;
        if (!e.schemaOk) row.schemaRejected++;
        if (ok && e.schemaOk) row.passed++;
        else row.failed++;
        rows.set(key, row);
      }
    }
    return { file: this.file, rows: sortRows([...rows.values()]), tests: this.scopes.map((s) => s.outcome), figures: this.figures, violations: [...new Set(violations)] };
  }

  private finish(): void {
    const report = this.report();
    const dir = path.join(os.tmpdir(), 'parley-conformance');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${this.file}.json`), JSON.stringify(report, null, 2));
    console.log(`\nconformance table — ${this.file}\n${formatTable(report.rows)}`);
    const deviations = report.tests.filter((t) => t.status === 'deviation' || t.status === 'todo-passes');
    for (const d of deviations) console.log(`${d.status === 'deviation' ? 'DEVIATION' : 'TODO NOW PASSES'}: ${d.name} — ${d.todo ?? ''}`);
    if (Object.keys(report.figures).length) console.log(`figures: ${JSON.stringify(report.figures)}`);
  }
}

export function sortRows(rows: TableRow[]): TableRow[] {
  const order = (r: TableRow) => `${r.iface === 'ga' ? 0 : r.iface === 'beta' ? 1 : 2}${r.dir === 'client->server' ? 0 : 1}${r.type}`;
  return rows.sort((a, b) => order(a).localeCompare(order(b)));
}

export function formatTable(rows: readonly TableRow[]): string {
  const head = ['iface', 'direction', 'event type', 'count', 'passed', 'failed', 'agents-schema rejected'];
  const body = rows.map((r) => [r.iface, r.dir, r.type, String(r.count), String(r.passed), String(r.failed), r.iface === 'beta' ? '-' : String(r.schemaRejected)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
