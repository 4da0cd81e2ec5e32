// The loadtest's HTML report (report.html): one self-contained page, no scripts, no external
// resources — the summary table, an inline SVG latency histogram per metric (median and p95
// marked) and a timeline with one row per session (speech, waiting, response audio, errors).
import { METRICS, metricValues } from './metrics.ts';
import { quantileSorted } from './stats.ts';
import type { LoadtestResult } from './result.ts';
import { formatServerFigures } from './server-figures.ts';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (v: number, digits = 1): string => (Number.isFinite(v) ? v.toFixed(digits) : '-');
const COLORS = { speech: '#4e79a7', waiting: '#f28e2b', audio: '#59a14f', error: '#e15759', median: '#1f4e79', p95: '#b22222' };

/** Tick label with as many decimals as the axis span needs. */
const tick = (v: number, span: number): string => num(v, span >= 50 ? 0 : span >= 5 ? 1 : 2);

function histogram(values: readonly number[], unit: string, median: number, p95: number): string {
  const W = 460;
  const H = 170;
  const pad = { l: 40, r: 30, t: 10, b: 30 };
  if (values.length === 0) return '<p class="muted">no samples</p>';
  const sorted = [...values].sort((a, b) => a - b);
  const min = sorted[0]!;
  const max = sorted[sorted.length - 1]!;
  const p90 = quantileSorted(sorted, 0.9);
  // A long tail would squash everything else into one bar: cut the axis at p95, count the rest apart.
  const hi = max > 4 * p90 && p95 > min ? p95 : max;
  const over = sorted.filter((v) => v > hi).length;
  // Start at 0 unless the values sit far from it (then 0 would squeeze them into a corner).
  const lo = min >= 0 && min < 0.3 * hi ? 0 : min;
  const bins = 24;
  const width = (hi - lo || 1) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of sorted) if (v <= hi) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]! += 1;
  const top = Math.max(1, over, ...counts);
  const x = (v: number) => pad.l + ((v - lo) / (width * bins)) * (W - pad.l - pad.r - (over ? 24 : 0));
  const y = (c: number) => H - pad.b - (c / top) * (H - pad.t - pad.b);
  const bar = (x0: number, x1: number, c: number, color: string, title: string) =>
    `<rect x="${x0.toFixed(1)}" y="${y(c).toFixed(1)}" width="${Math.max(1, x1 - x0 - 1).toFixed(1)}" height="${(H - pad.b - y(c)).toFixed(1)}" fill="${color}"><title>${esc(title)}</title></rect>`;
  const bars = counts.map((c, i) => bar(x(lo + i * width), x(lo + (i + 1) * width), c, COLORS.speech, `${num(lo + i * width)}–${num(lo + (i + 1) * width)} ${unit}: ${c}`)).join('');
  const overflow = over
    ? `${bar(W - pad.r - 20, W - pad.r, over, COLORS.waiting, `${over} above ${num(hi)} ${unit} (max ${num(max)})`)}<text x="${W - pad.r - 10}" y="${y(over) - 3}" text-anchor="middle">&gt;${tick(hi, hi - lo)}</text>`
    : '';
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const v = lo + f * width * bins;
      return `<text x="${x(v).toFixed(1)}" y="${H - pad.b + 14}" text-anchor="middle">${tick(v, hi - lo)}</text>`;
    })
    .join('');
  const mark = (v: number, color: string, label: string, dy: number) =>
    Number.isFinite(v) && v <= hi ? `<line x1="${x(v)}" x2="${x(v)}" y1="${pad.t}" y2="${H - pad.b}" stroke="${color}" stroke-dasharray="4 2"/><text x="${x(v) + 3}" y="${pad.t + dy}" fill="${color}">${label}</text>` : '';
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">${bars}${overflow}
<line x1="${pad.l}" x2="${W - pad.r}" y1="${H - pad.b}" y2="${H - pad.b}" stroke="#333"/>${ticks}
<text x="${pad.l - 4}" y="${pad.t + 8}" text-anchor="end">${top}</text><text x="${pad.l - 4}" y="${H - pad.b}" text-anchor="end">0</text>
<text x="${(W + pad.l) / 2}" y="${H - 2}" text-anchor="middle">${esc(unit)}</text>${mark(median, COLORS.median, 'median', 10)}${mark(p95, COLORS.p95, 'p95', 24)}</svg>`;
}

function timeline(r: LoadtestResult): string {
  const shown = r.sessions.slice(0, 200);
  const rowH = shown.length > 60 ? 6 : 12;
  const W = 1100;
  const left = 50;
  const H = shown.length * rowH + 40;
  const audioEnd = (t: (typeof r.turns)[number]) => Math.max(t.lastAudio ?? 0, (t.firstAudio ?? 0) + t.audioMs);
  const end = r.turns.reduce((a, t) => Math.max(a, t.responseDone ?? 0, audioEnd(t)), Math.max(1, r.durationMs));
  const x = (ms: number) => left + (Math.max(0, ms) / end) * (W - left - 30);
  const rect = (from: number | undefined, to: number | undefined, row: number, color: string, title: string) =>
    from === undefined || to === undefined || !Number.isFinite(from) || !Number.isFinite(to)
      ? ''
      : `<rect x="${x(from).toFixed(1)}" y="${row * rowH + 2}" width="${Math.max(1, x(to) - x(from)).toFixed(1)}" height="${rowH - 3}" fill="${color}"><title>${esc(title)}</title></rect>`;
  const rowOf = new Map(shown.map((s, i) => [s.session, i]));
  const parts: string[] = [];
  shown.forEach((s, i) => {
    if (rowH >= 10) parts.push(`<text x="${left - 4}" y="${i * rowH + rowH - 2}" text-anchor="end">${s.session}</text>`);
    parts.push(`<line x1="${x(s.startedAt)}" x2="${x(s.endedAt ?? end)}" y1="${i * rowH + rowH / 2}" y2="${i * rowH + rowH / 2}" stroke="#ccc"/>`);
    if (s.dropped || s.failed) parts.push(`<text x="${x(s.endedAt ?? end) + 2}" y="${i * rowH + rowH - 2}" fill="${COLORS.error}">✕<title>${esc(s.failure ?? 'failed')}</title></text>`);
  });
  for (const t of r.turns) {
    const row = rowOf.get(t.session);
    if (row === undefined) continue;
    const who = `session ${t.session} turn ${t.turn}`;
    parts.push(rect(t.audioStart, t.audioEnd, row, COLORS.speech, `${who}: speech`));
    parts.push(rect(t.audioEnd, t.firstAudio ?? t.responseDone, row, t.status === 'completed' ? COLORS.waiting : COLORS.error, `${who}: waiting (${t.status})`));
    parts.push(rect(t.firstAudio, audioEnd(t), row, COLORS.audio, `${who}: response audio ${num(t.audioMs, 0)} ms (drawn at playback length)`));
  }
  const ticks = Array.from({ length: 11 }, (_, i) => (end * i) / 10)
    .map((ms) => `<line x1="${x(ms)}" x2="${x(ms)}" y1="0" y2="${H - 30}" stroke="#eee"/><text x="${x(ms)}" y="${H - 16}" text-anchor="middle">${num(ms / 1000)} s</text>`)
    .join('');
  const note = r.sessions.length > shown.length ? `<p class="muted">first ${shown.length} of ${r.sessions.length} sessions</p>` : '';
  return `${note}<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">${ticks}${parts.join('')}</svg>`;
}

export function renderReport(r: LoadtestResult): string {
  const rows = r.summaries
    .map((s) => `<tr><td>${esc(s.label)}</td><td>${s.unit}</td><td>${s.count}</td>${[s.mean, s.median, s.p90, s.p95, s.p99, s.min, s.max].map((v) => `<td>${num(v, s.unit === 'x' ? 2 : 1)}</td>`).join('')}</tr>`)
    .join('\n');
  const hists = METRICS.map((m) => {
    const s = r.summaries.find((x) => x.key === m.key)!;
    return `<figure><figcaption>${esc(m.label)} — n=${s.count}, median ${num(s.median)} ${m.unit}, p95 ${num(s.p95)} ${m.unit}</figcaption>${histogram(metricValues(r.turns, m), m.unit, s.median, s.p95)}</figure>`;
  }).join('\n');
  const errors = Object.entries(r.errors)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `<tr><td>${esc(k)}</td><td>${n}</td></tr>`)
    .join('');
  const t = r.totals;
  const legend = Object.entries({ speech: COLORS.speech, 'waiting for the answer': COLORS.waiting, 'response audio': COLORS.audio, 'failed / error': COLORS.error })
    .map(([k, c]) => `<span><i style="background:${c}"></i>${k}</span>`)
    .join(' ');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Parley loadtest ${esc(r.startedAt)}</title><style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}svg text{font:10px sans-serif}figure{display:inline-block;margin:8px 16px 8px 0}
figcaption{font-weight:600;margin-bottom:4px}.muted{color:#777}.legend i{display:inline-block;width:12px;height:10px;margin:0 4px 0 12px}
</style></head><body>
<h1>Parley loadtest</h1>
<p>${esc(r.startedAt)} · ${esc(r.target.url)}${r.target.embedded ? ` (embedded${r.target.nullEngines ? `, null engines, delay ${r.target.nullDelayMs} ms` : ', real engines'})` : ''} · ${r.config.sessions} sessions over ${r.config.nWorkers} workers · ${num(r.durationMs / 1000)} s</p>
<p>connected ${t.connected}/${t.sessions} · turns completed ${t.turnsCompleted}/${t.turns} · failed sessions ${t.failedSessions} · dropped ${t.droppedSessions} · errors ${t.errors}</p>
<p class="muted">machine: ${r.machine.cpus} cores, load average ${num(r.machine.loadavgStart, 2)} → ${num(r.machine.loadavgEnd, 2)}, Node ${esc(r.machine.node)}; loadtest client ${num(r.clientCpuSeconds)} CPU s</p>
${r.server ? `<pre>${esc(formatServerFigures(r.server))}</pre>` : ''}
<h2>Summary</h2><table><tr><th>metric</th><th>unit</th><th>n</th><th>mean</th><th>median</th><th>p90</th><th>p95</th><th>p99</th><th>min</th><th>max</th></tr>
${rows}</table>
<h2>Histograms</h2>${hists}
<h2>Timeline</h2><p class="legend">${legend}</p>${timeline(r)}
<h2>Errors</h2>${errors ? `<table><tr><th>kind</th><th>count</th></tr>${errors}</table>` : '<p>none</p>'}
${r.fatal.length ? `<h2>Worker failures</h2><pre>${esc(r.fatal.join('\n'))}</pre>` : ''}
</body></html>
`;
}
