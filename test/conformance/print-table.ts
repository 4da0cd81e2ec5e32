// Prints the combined conformance table of the last suite run: every test file wrote its own table
// (event type, direction, count, passed) to os.tmpdir()/parley-conformance/<file>.json; this merges
// them, then lists the deviations (todo tests) and the measured figures.
// Usage: node --import tsx test/conformance/print-table.ts
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatTable, sortRows, type FileReport, type TableRow } from './support/recorder.ts';

const dir = path.join(os.tmpdir(), 'parley-conformance');
const reports = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as FileReport);

const merged = new Map<string, TableRow>();
for (const r of reports) {
  for (const row of r.rows) {
    const key = `${row.iface}|${row.dir}|${row.type}`;
    const into = merged.get(key) ?? { ...row, count: 0, passed: 0, failed: 0, schemaRejected: 0 };
    into.count += row.count;
    into.passed += row.passed;
    into.failed += row.failed;
    into.schemaRejected += row.schemaRejected;
    merged.set(key, into);
  }
}

const tests = reports.flatMap((r) => r.tests.map((t) => ({ ...t, file: r.file })));
const count = (s: string) => tests.filter((t) => t.status === s).length;
console.log(`Parley OpenAI Realtime conformance — ${reports.map((r) => r.file).join(', ')}`);
console.log(`tests: ${tests.length}; pass ${count('pass')}, fail ${count('fail')}, deviation (todo) ${count('deviation')}, todo now passing ${count('todo-passes')}\n`);
console.log(formatTable(sortRows([...merged.values()])));

const deviations = tests.filter((t) => t.status !== 'pass');
if (deviations.length) {
  console.log('\nDeviations and failures:');
  for (const t of deviations) console.log(`- [${t.status}] ${t.file}: ${t.name}\n    ${t.todo ?? t.error ?? ''}`);
}
const violations = reports.flatMap((r) => r.violations.map((v) => `${r.file}: ${v}`));
if (violations.length) console.log(`\nWire violations (agents schema, event_id):\n- ${violations.join('\n- ')}`);
for (const r of reports) {
  if (Object.keys(r.figures).length) console.log(`\nFigures (${r.file}):\n${JSON.stringify(r.figures, null, 2)}`);
}
