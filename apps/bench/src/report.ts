// Turns one benchmark run (BenchResults) into a terminal table, an SVG chart and a Markdown report.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BenchResults, LatencySummary, Target, ThroughputLine } from './results.js';

// ---------------------------------------------------------------------------------------------
// Number formatting

const formatters = new Map<number, Intl.NumberFormat>();

/** A number with thousands separators and exactly `decimals` decimals; "—" when not finite. */
function fixed(value: number, decimals: number): string {
  if (!Number.isFinite(value)) return '—';
  let formatter = formatters.get(decimals);
  if (formatter === undefined) {
    formatter = new Intl.NumberFormat('en-US', {
      minimumFractionDigits: decimals,
      maximumFractionDigits: decimals,
    });
    formatters.set(decimals, formatter);
  }
  return formatter.format(value);
}

/** Counts (requests, rows, statements totals): whole numbers with separators. */
function count(value: number): string {
  return fixed(value, 0);
}

/** Rates per second: whole above 100, one decimal below. */
function rate(value: number): string {
  return fixed(value, Math.abs(value) >= 100 ? 0 : 1);
}

/** Milliseconds: two decimals below 10 ms, one below 100 ms, whole above. */
function ms(value: number): string {
  const abs = Math.abs(value);
  return fixed(value, abs >= 100 ? 0 : abs >= 10 ? 1 : 2);
}

/** Memory sizes: one decimal. */
function mib(value: number): string {
  return `${fixed(value, 1)} MiB`;
}

/** Any other quantity (ratios, GiB, target values): decimals shrink as the value grows. */
function smart(value: number): string {
  const abs = Math.abs(value);
  return fixed(value, abs >= 100 ? 0 : abs >= 10 ? 1 : 2);
}

/** `a / b` as "0.42×", or "—" when either side is missing or b is zero. */
function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || b === 0) return '—';
  return `${fixed(a / b, 2)}×`;
}

function goalText(target: Target): string {
  return `${target.atMost === true ? '≤' : '≥'} ${smart(target.goal)}`;
}

/** Whether value vs goal agrees with the recorded `met` (it should; a disagreement is flagged). */
function goalReached(target: Target): boolean {
  return target.atMost === true ? target.value <= target.goal : target.value >= target.goal;
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

const lineOrder: Record<ThroughputLine['id'], number> = {
  pgbench: 0,
  'bare-fastify': 1,
  'api-send': 2,
  'api-send-batched': 3,
};

/** Throughput lines in the order pgbench, bare fastify, api, api batched. */
function orderedLines(results: BenchResults): ThroughputLine[] {
  return [...results.throughput].sort((a, b) => lineOrder[a.id] - lineOrder[b.id]);
}

function findLine(results: BenchResults, id: ThroughputLine['id']): ThroughputLine | undefined {
  return results.throughput.find((line) => line.id === id);
}

function ackText(line: ThroughputLine): string {
  const text = `${count(line.acknowledged)} / ${count(line.stored)}`;
  return line.acknowledged === line.stored ? text : `${text} (MISMATCH)`;
}

/** The lines with a CPU split (none when the run had no /proc), in report order. */
function cpuLines(results: BenchResults): ThroughputLine[] {
  return orderedLines(results).filter((line) => line.cpu !== undefined);
}

const cpuHeaders = [
  'line',
  'server',
  'PostgreSQL',
  'load generator',
  'other',
  'idle',
  'server ms / 1,000 msgs',
];
const cpuAligns: Align[] = ['left', 'right', 'right', 'right', 'right', 'right', 'right'];

/** Cores per party (two decimals) and the server's CPU time per 1,000 messages stored. */
function cpuCells(line: ThroughputLine): string[] {
  const { cpu } = line;
  const cores = (value: number | undefined) => (value === undefined ? '—' : fixed(value, 2));
  return [
    cores(cpu?.server),
    cores(cpu?.postgres),
    cores(cpu?.load),
    cores(cpu?.other),
    cores(cpu?.idle),
    line.serverCpuMsPerMessage === undefined ? '—' : ms(line.serverCpuMsPerMessage * 1_000),
  ];
}

function coresText(cpus: number): string {
  return `${count(cpus)} ${cpus === 1 ? 'core' : 'cores'}`;
}

function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}

/** The calendar date (YYYY-MM-DD) of an ISO timestamp, or the raw text when it does not parse. */
function dateOf(iso: string): string {
  const time = Date.parse(iso);
  return Number.isNaN(time) ? iso : new Date(time).toISOString().slice(0, 10);
}

function elapsedText(fromIso: string, toIso: string): string | undefined {
  const from = Date.parse(fromIso);
  const to = Date.parse(toIso);
  if (Number.isNaN(from) || Number.isNaN(to) || to < from) return undefined;
  const seconds = Math.round((to - from) / 1000);
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes} min ${seconds % 60} s` : `${seconds} s`;
}

function planSentence(explain: BenchResults['explain']): string {
  const { hasSort, hasSeqScan } = explain;
  if (!hasSort && !hasSeqScan) {
    return 'The plan has no Sort node and no Seq Scan: the deep history page is read in index order.';
  }
  if (hasSort && hasSeqScan) {
    return 'The plan has a Sort node and a Seq Scan: the deep history page is neither read in index order nor found through an index.';
  }
  if (hasSort) {
    return 'The plan has a Sort node (but no Seq Scan): the rows are found through an index but sorted afterwards.';
  }
  return 'The plan has a Seq Scan (but no Sort node): the table is scanned rather than read through an index.';
}

// ---------------------------------------------------------------------------------------------
// 1. Terminal table

type Align = 'left' | 'right';

/** Pads every cell to its column's width; numbers right-aligned, text left-aligned. */
function alignTable(headers: string[], aligns: Align[], rows: string[][]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const format = (cells: string[]): string =>
    cells
      .map((cell, column) => {
        const width = widths[column] ?? cell.length;
        return aligns[column] === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [format(headers), rule, ...rows.map(format)].join('\n');
}

export function renderTable(results: BenchResults): string {
  const { settings } = results;
  const pgbench = findLine(results, 'pgbench');
  const fastify = findLine(results, 'bare-fastify');
  const sections: string[] = [];

  sections.push(
    `Throughput (median of ${count(settings.rounds)} rounds, ${count(settings.connections)} connections, ` +
      `${count(settings.durationSeconds)} s each${settings.quick ? ', quick mode' : ''})`,
  );
  if (results.throughput.length === 0) {
    sections.push('  (no throughput lines)');
  } else {
    sections.push(
      alignTable(
        [
          'line',
          'messages/s',
          'requests/s',
          'p50 ms',
          'p99 ms',
          '× pgbench',
          '× fastify',
          'acked / stored',
          'errors',
        ],
        ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
        orderedLines(results).map((line) => [
          line.label,
          rate(line.messagesPerSecond),
          rate(line.requestsPerSecond),
          line.latency === undefined ? '—' : ms(line.latency.p50),
          line.latency === undefined ? '—' : ms(line.latency.p99),
          ratio(line.messagesPerSecond, pgbench?.messagesPerSecond),
          ratio(line.messagesPerSecond, fastify?.messagesPerSecond),
          ackText(line),
          count(line.errors),
        ]),
      ),
    );
  }

  const withCpu = cpuLines(results);
  if (withCpu.length > 0) {
    sections.push(
      '',
      `CPU during the runs (cores used; the machine has ${coresText(results.machine.cpus)}; 20% to 80% of the median round)`,
      alignTable(
        cpuHeaders,
        cpuAligns,
        withCpu.map((line) => [line.label, ...cpuCells(line)]),
      ),
    );
  }

  sections.push('', 'Reads');
  if (results.reads.length === 0) {
    sections.push('  (no read lines)');
  } else {
    sections.push(
      alignTable(
        ['line', 'p50 ms', 'p99 ms', 'requests'],
        ['left', 'right', 'right', 'right'],
        results.reads.map((read) => [
          read.label,
          ms(read.latency.p50),
          ms(read.latency.p99),
          count(read.requests),
        ]),
      ),
    );
  }

  const { memory } = results;
  sections.push(
    '',
    'Memory (api RSS)',
    alignTable(
      ['after warm-up', `after ${count(memory.sends)} sends`, 'ratio'],
      ['right', 'right', 'right'],
      [
        [
          mib(memory.rssAfterWarmupMiB),
          mib(memory.rssAfterSendsMiB),
          ratio(memory.rssAfterSendsMiB, memory.rssAfterWarmupMiB),
        ],
      ],
    ),
    '',
    `Statements per send: ${fixed(results.statementsPerSend, 2)}`,
    '',
    'Deep history plan: ' +
      `Sort node ${yesNo(results.explain.hasSort)}, Seq Scan ${yesNo(results.explain.hasSeqScan)}`,
    '',
    'Targets',
  );

  if (results.targets.length === 0) {
    sections.push('  (no targets)');
  } else {
    sections.push(
      alignTable(
        ['', 'target', 'ratio', 'value', 'goal'],
        ['left', 'left', 'left', 'right', 'right'],
        results.targets.map((target) => [
          target.met ? 'PASS' : 'FAIL',
          target.name,
          target.ratio,
          smart(target.value),
          goalText(target),
        ]),
      ),
    );
    const met = results.targets.filter((target) => target.met).length;
    sections.push(`${count(met)} of ${count(results.targets.length)} targets met.`);
  }

  return `${sections.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// 2. SVG chart

/** Escapes text for XML content and attribute values. */
function xml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Coordinates rounded to one decimal so the SVG stays short. */
function px(value: number): string {
  return String(Math.round(value * 10) / 10);
}

function svgText(
  x: number,
  y: number,
  content: string,
  attributes: Record<string, string> = {},
): string {
  const extra = Object.entries(attributes)
    .map(([name, value]) => ` ${name}="${xml(value)}"`)
    .join('');
  return `<text x="${px(x)}" y="${px(y)}"${extra}>${xml(content)}</text>`;
}

function svgRect(x: number, y: number, width: number, height: number, fill: string): string {
  return `<rect x="${px(x)}" y="${px(y)}" width="${px(width)}" height="${px(height)}" fill="${xml(fill)}"/>`;
}

function svgLine(x1: number, y1: number, x2: number, y2: number, stroke: string): string {
  return `<line x1="${px(x1)}" y1="${px(y1)}" x2="${px(x2)}" y2="${px(y2)}" stroke="${xml(stroke)}" stroke-width="1"/>`;
}

/** Labels longer than the space left of the bars are cut with an ellipsis (the full one is in <title>). */
function clip(label: string, max = 30): string {
  return label.length <= max ? label : `${label.slice(0, max - 1).trimEnd()}…`;
}

/** Bar width for `value` on a scale whose largest value is `max`; a non-zero value stays visible. */
function barWidth(value: number, max: number, full: number): number {
  if (!Number.isFinite(value) || value <= 0 || max <= 0) return 0;
  return Math.max(2, (value / max) * full);
}

const lineColors: Record<ThroughputLine['id'], string> = {
  pgbench: '#6b7280',
  'bare-fastify': '#3b82f6',
  'api-send': '#f97316',
  'api-send-batched': '#10b981',
};
const p50Color = '#93c5fd';
const p99Color = '#1e40af';

interface LatencyRow {
  label: string;
  latency: LatencySummary;
}

export function renderSvg(results: BenchResults): string {
  const width = 900;
  const labelRight = 250;
  const barLeft = 260;
  const valueSpace = 210;
  const barFull = width - barLeft - valueSpace - 20;
  const throughputRowHeight = 30;
  const latencyRowHeight = 36;

  const lines = orderedLines(results);
  const pgbench = findLine(results, 'pgbench');
  const latencyRows: LatencyRow[] = [
    ...lines.flatMap((line) =>
      line.latency === undefined ? [] : [{ label: line.label, latency: line.latency }],
    ),
    ...results.reads.map((read) => ({ label: read.label, latency: read.latency })),
  ];

  const body: string[] = [];
  const { settings } = results;
  body.push(
    svgText(20, 28, `Benchmark ${dateOf(results.startedAt)}`, {
      'font-size': '16',
      'font-weight': 'bold',
    }),
    svgText(
      20,
      46,
      `${settings.connections} connections, ${settings.durationSeconds} s × ${settings.rounds} rounds, ` +
        `synchronous_commit=${settings.synchronousCommit}, pool ${settings.poolSize}, api workers ${settings.apiWorkers}` +
        `${settings.quick ? ', quick mode' : ''} · ${results.machine.cpus} × ${results.machine.cpuModel}`,
      { 'font-size': '11', fill: '#4b5563' },
    ),
  );

  // Panel 1: messages per second.
  let y = 78;
  body.push(
    svgText(20, y, 'Messages per second (median of rounds, higher is better)', {
      'font-size': '13',
      'font-weight': 'bold',
    }),
  );
  y += 12;
  const panel1Top = y;
  const maxRate = Math.max(0, ...lines.map((line) => line.messagesPerSecond));
  if (lines.length === 0) {
    body.push(svgText(barLeft, y + 18, 'no throughput lines', { 'font-size': '12' }));
    y += throughputRowHeight;
  }
  for (const line of lines) {
    const barW = barWidth(line.messagesPerSecond, maxRate, barFull);
    const versus =
      pgbench === undefined
        ? ''
        : line.id === 'pgbench'
          ? ' · baseline'
          : ` · ${ratio(line.messagesPerSecond, pgbench.messagesPerSecond)} pgbench`;
    body.push(
      '<g>',
      `<title>${xml(`${line.label}: ${rate(line.messagesPerSecond)} messages/s`)}</title>`,
      svgText(labelRight, y + 14, clip(line.label), { 'font-size': '12', 'text-anchor': 'end' }),
      svgRect(barLeft, y + 2, barW, 18, lineColors[line.id]),
      svgText(barLeft + barW + 6, y + 15, `${rate(line.messagesPerSecond)} msg/s${versus}`, {
        'font-size': '12',
      }),
      '</g>',
    );
    y += throughputRowHeight;
  }
  body.push(svgLine(barLeft, panel1Top, barLeft, y, '#9ca3af'));

  // Panel 2: latency, p50 and p99 side by side.
  y += 26;
  body.push(
    svgText(20, y, 'Latency in ms (p50 and p99, lower is better)', {
      'font-size': '13',
      'font-weight': 'bold',
    }),
    svgRect(width - 170, y - 10, 12, 10, p50Color),
    svgText(width - 153, y, 'p50', { 'font-size': '11' }),
    svgRect(width - 110, y - 10, 12, 10, p99Color),
    svgText(width - 93, y, 'p99', { 'font-size': '11' }),
  );
  y += 12;
  const panel2Top = y;
  const maxLatency = Math.max(0, ...latencyRows.map((row) => row.latency.p99));
  if (latencyRows.length === 0) {
    body.push(svgText(barLeft, y + 18, 'no latency measured', { 'font-size': '12' }));
    y += latencyRowHeight;
  }
  for (const row of latencyRows) {
    const p50W = barWidth(row.latency.p50, maxLatency, barFull);
    const p99W = barWidth(row.latency.p99, maxLatency, barFull);
    body.push(
      '<g>',
      `<title>${xml(`${row.label}: p50 ${ms(row.latency.p50)} ms, p99 ${ms(row.latency.p99)} ms`)}</title>`,
      svgText(labelRight, y + 19, clip(row.label), { 'font-size': '12', 'text-anchor': 'end' }),
      svgRect(barLeft, y + 3, p50W, 13, p50Color),
      svgText(barLeft + p50W + 6, y + 14, `p50 ${ms(row.latency.p50)} ms`, { 'font-size': '11' }),
      svgRect(barLeft, y + 18, p99W, 13, p99Color),
      svgText(barLeft + p99W + 6, y + 29, `p99 ${ms(row.latency.p99)} ms`, { 'font-size': '11' }),
      '</g>',
    );
    y += latencyRowHeight;
  }
  body.push(svgLine(barLeft, panel2Top, barLeft, y, '#9ca3af'));

  const height = Math.ceil(y + 16);
  const title = `Benchmark ${dateOf(results.startedAt)}: messages per second and latency`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="sans-serif" role="img">`,
    `<title>${xml(title)}</title>`,
    svgRect(0, 0, width, height, '#ffffff'),
    ...body,
    '</svg>',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// 3. Markdown

/** Makes text safe inside a Markdown table cell. */
function cell(text: string): string {
  return text
    .replace(/\r?\n/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|');
}

function markdownTable(headers: string[], aligns: Align[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const rule = aligns.map((align) => (align === 'right' ? '--:' : '---'));
  return [line(headers), line(rule), ...rows.map(line)].join('\n');
}

/** A fence longer than any backtick run inside `text`. */
function fenced(text: string, language: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((match) => match[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${language}\n${text.replace(/\s+$/, '')}\n${fence}`;
}

/** `![alt](file)`, with the `<…>` form when the file name has spaces or parentheses. */
function imageLink(alt: string, fileName: string): string {
  const destination = /[\s()<>]/.test(fileName)
    ? `<${fileName.replace(/[<>]/g, encodeURIComponent)}>`
    : fileName;
  return `![${alt}](${destination})`;
}

export function renderMarkdown(results: BenchResults, svgFileName: string): string {
  const { settings, machine, memory } = results;
  const pgbench = findLine(results, 'pgbench');
  const fastify = findLine(results, 'bare-fastify');
  const api = findLine(results, 'api-send');
  const batched = findLine(results, 'api-send-batched');
  const out: string[] = [];

  out.push(`# Benchmark report, ${dateOf(results.startedAt)}`, '');
  const elapsed = elapsedText(results.startedAt, results.finishedAt);
  out.push(
    `Run from ${results.startedAt} to ${results.finishedAt}${elapsed === undefined ? '' : ` (${elapsed})`}.`,
    '',
  );

  if (api !== undefined) {
    const parts = [`The api stores **${rate(api.messagesPerSecond)} messages/s**`];
    if (pgbench !== undefined) {
      parts.push(`${ratio(api.messagesPerSecond, pgbench.messagesPerSecond)} pgbench`);
    }
    if (fastify !== undefined) {
      parts.push(`${ratio(api.messagesPerSecond, fastify.messagesPerSecond)} bare fastify`);
    }
    let headline = parts.join(', ');
    if (batched !== undefined) {
      headline += `; batched, ${rate(batched.messagesPerSecond)} messages/s`;
      if (pgbench !== undefined) {
        headline += ` (${ratio(batched.messagesPerSecond, pgbench.messagesPerSecond)} pgbench)`;
      }
    }
    out.push(`${headline}.`, '');
  }

  const met = results.targets.filter((target) => target.met).length;
  if (results.targets.length > 0) {
    out.push(
      met === results.targets.length
        ? `All ${count(met)} targets are met.`
        : `${count(met)} of ${count(results.targets.length)} targets are met; ` +
            `${count(results.targets.length - met)} ${results.targets.length - met === 1 ? 'is' : 'are'} not met.`,
      '',
    );
  }

  out.push(
    '## Machine and settings',
    '',
    `- Machine: ${machine.cpus} × ${cell(machine.cpuModel)}, ${smart(machine.memoryGiB)} GiB RAM, ` +
      `Node ${cell(machine.node)}, PostgreSQL ${cell(machine.postgres)}`,
    `- Load: ${count(settings.connections)} connections, ${count(settings.durationSeconds)} s per round ` +
      `after ${count(settings.warmupSeconds)} s of warm-up, ${count(settings.rounds)} rounds (median reported)`,
    `- Database: synchronous_commit=${cell(settings.synchronousCommit)}, api pool size ${count(settings.poolSize)} per worker; api workers (API_WORKERS) ${count(settings.apiWorkers)}; bare fastify is one process`,
    `- Data: ${count(settings.users)} users, batch size ${count(settings.batchSize)}, ` +
      `history depth ${count(settings.historyDepth)}, ${count(settings.conversationsForList)} conversations for the list, ` +
      `${count(settings.memorySends)} sends for the memory check`,
    `- Quick mode: ${settings.quick ? 'yes (shorter run: indicative numbers only)' : 'no'}`,
    '',
    imageLink('throughput and latency', svgFileName),
    '',
    '## Throughput',
    '',
  );

  if (results.throughput.length === 0) {
    out.push('No throughput lines were measured.', '');
  } else {
    out.push(
      markdownTable(
        [
          'Line',
          'messages/s',
          'requests/s',
          'p50 ms',
          'p99 ms',
          '× pgbench',
          '× bare fastify',
          'acknowledged / stored',
          'errors',
        ],
        ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
        orderedLines(results).map((line) => [
          cell(line.label),
          rate(line.messagesPerSecond),
          rate(line.requestsPerSecond),
          line.latency === undefined ? '—' : ms(line.latency.p50),
          line.latency === undefined ? '—' : ms(line.latency.p99),
          ratio(line.messagesPerSecond, pgbench?.messagesPerSecond),
          ratio(line.messagesPerSecond, fastify?.messagesPerSecond),
          line.acknowledged === line.stored ? ackText(line) : `**${ackText(line)}**`,
          count(line.errors),
        ]),
      ),
      '',
      'Rounds, messages/s in order:',
      '',
      ...orderedLines(results).map(
        (line) => `- ${cell(line.label)}: ${line.rounds.map(rate).join(' · ') || '—'}`,
      ),
      '',
    );
    const mismatched = results.throughput.filter((line) => line.acknowledged !== line.stored);
    out.push(
      mismatched.length === 0
        ? 'Every acknowledged send appeared as a stored row.'
        : `Acknowledged and stored counts differ for: ${mismatched.map((line) => cell(line.label)).join(', ')}.`,
      '',
    );
  }

  const withCpu = cpuLines(results);
  if (withCpu.length > 0) {
    out.push(
      '## CPU during the runs',
      '',
      `Cores used by the server under test, PostgreSQL, the load generator and everything else while each write line ran ` +
        `(from /proc, between 20% and 80% of the median round); the machine has ${coresText(machine.cpus)}.`,
      '',
      markdownTable(
        cpuHeaders.map((header, column) => (column === 0 ? 'Line' : header)),
        cpuAligns,
        withCpu.map((line) => [cell(line.label), ...cpuCells(line)]),
      ),
      '',
    );
  }

  out.push('## Reads', '');
  if (results.reads.length === 0) {
    out.push('No read lines were measured.', '');
  } else {
    out.push(
      markdownTable(
        ['Line', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'requests'],
        ['left', 'right', 'right', 'right', 'right', 'right'],
        results.reads.map((read) => [
          cell(read.label),
          ms(read.latency.p50),
          ms(read.latency.p90),
          ms(read.latency.p99),
          ms(read.latency.max),
          count(read.requests),
        ]),
      ),
      '',
    );
  }

  const grown = memory.rssAfterSendsMiB - memory.rssAfterWarmupMiB;
  const growth = `${grown >= 0 ? '+' : '−'}${mib(Math.abs(grown))}`;
  out.push(
    '## Deep history query plan',
    '',
    fenced(results.explain.query, 'sql'),
    '',
    fenced(results.explain.plan, 'text'),
    '',
    planSentence(results.explain),
    '',
    '## Memory',
    '',
    `The api's RSS was ${mib(memory.rssAfterWarmupMiB)} after warm-up and ` +
      `${mib(memory.rssAfterSendsMiB)} after ${count(memory.sends)} sends ` +
      `(${ratio(memory.rssAfterSendsMiB, memory.rssAfterWarmupMiB)}, ${growth}).`,
    '',
    '## Statements per send',
    '',
    `${fixed(results.statementsPerSend, 2)} database statements per message.send, read from the api's /metrics counter.`,
    '',
    '## Targets',
    '',
  );

  if (results.targets.length === 0) {
    out.push('No targets were set.', '');
  } else {
    out.push(
      markdownTable(
        ['', 'Target', 'Ratio', 'Value', 'Goal', 'Note'],
        ['left', 'left', 'left', 'right', 'right', 'left'],
        results.targets.map((target) => {
          const notes = target.note === undefined ? [] : [cell(target.note)];
          if (goalReached(target) !== target.met) {
            notes.push(
              `recorded as ${target.met ? 'met' : 'not met'}, but the value ${goalReached(target) ? 'reaches' : 'does not reach'} the goal`,
            );
          }
          return [
            target.met ? '✅ met' : '❌ not met',
            cell(target.name),
            cell(target.ratio),
            smart(target.value),
            goalText(target),
            notes.join('; '),
          ];
        }),
      ),
      '',
    );
    const missed = results.targets.filter((target) => !target.met);
    if (missed.length > 0) {
      out.push(
        `Not met: ${missed
          .map(
            (target) => `${cell(target.name)} (${smart(target.value)}, goal ${goalText(target)})`,
          )
          .join('; ')}.`,
        '',
      );
    }
  }

  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}

// ---------------------------------------------------------------------------------------------
// 4. Files

export async function writeReport(
  results: BenchResults,
  dir: string,
): Promise<{ json: string; markdown: string; svg: string }> {
  const root = path.resolve(dir);
  await mkdir(root, { recursive: true });
  const json = path.join(root, 'latest.json');
  const svg = path.join(root, 'latest.svg');
  const markdown = path.join(root, 'latest.md');
  await writeFile(json, `${JSON.stringify(results, null, 2)}\n`, 'utf8');
  await writeFile(svg, `${renderSvg(results)}\n`, 'utf8');
  await writeFile(markdown, renderMarkdown(results, path.basename(svg)), 'utf8');
  return { json, markdown, svg };
}
