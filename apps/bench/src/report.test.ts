import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderMarkdown, renderSvg, renderTable, writeReport } from './report.js';
import type { BenchResults, LatencySummary } from './results.js';

function latency(p50: number, p99: number): LatencySummary {
  return { p50, p90: (p50 + p99) / 2, p99, max: p99 * 1.5, mean: p50 * 1.1 };
}

const plan = [
  'Limit  (cost=0.56..12.34 rows=50 width=120) (actual time=0.031..0.102 rows=50 loops=1)',
  '  ->  Index Scan Backward using message_conversation_id_id_index on message',
  '        Index Cond: ((conversation_id = 42) AND (id < 9000))',
  'Planning Time: 0.120 ms',
  'Execution Time: 0.140 ms',
].join('\n');

function fakeResults(): BenchResults {
  return {
    startedAt: '2025-12-04T16:50:00.000Z',
    finishedAt: '2025-12-04T16:58:30.000Z',
    machine: {
      cpus: 8,
      cpuModel: 'AMD EPYC 7763 64-Core Processor',
      memoryGiB: 31.3,
      node: 'v20.19.5',
      postgres: '18.0',
    },
    settings: {
      connections: 64,
      durationSeconds: 20,
      rounds: 3,
      warmupSeconds: 5,
      users: 200,
      batchSize: 10,
      historyDepth: 100_000,
      conversationsForList: 500,
      memorySends: 50_000,
      quick: false,
      synchronousCommit: 'on',
      poolSize: 20,
      apiWorkers: 1,
    },
    throughput: [
      // Deliberately out of order: the report orders pgbench, fastify, api, batched.
      {
        id: 'api-send',
        label: 'api message.send',
        messagesPerSecond: 4_321.7,
        requestsPerSecond: 4_321.7,
        latency: latency(13.8, 41.25),
        rounds: [4_300, 4_321.7, 4_350],
        acknowledged: 259_302,
        stored: 259_302,
        errors: 0,
        cpu: { server: 1.2, postgres: 0.45, load: 0.25, other: 0.1, idle: 6 },
        serverCpuMsPerMessage: 0.2777,
      },
      {
        id: 'pgbench',
        label: 'pgbench INSERT',
        messagesPerSecond: 12_345.6,
        requestsPerSecond: 12_345.6,
        rounds: [12_000, 12_345.6, 12_500],
        acknowledged: 740_736,
        stored: 740_736,
        errors: 0,
        cpu: { server: 0, postgres: 1.1, load: 0.45, other: 0.2, idle: 6.25 },
      },
      {
        id: 'bare-fastify',
        label: 'bare fastify + pg <&> "raw"',
        messagesPerSecond: 9_876.5,
        requestsPerSecond: 9_876.5,
        latency: latency(6.1, 19.7),
        rounds: [9_800, 9_876.5, 9_900],
        acknowledged: 592_590,
        stored: 592_590,
        errors: 0,
      },
      {
        id: 'api-send-batched',
        label: 'api message.send, batched ×10',
        messagesPerSecond: 8_765.4,
        requestsPerSecond: 876.5,
        latency: latency(68.2, 180.4),
        rounds: [8_700, 8_765.4, 8_800],
        acknowledged: 525_924,
        stored: 525_920,
        errors: 4,
        cpu: { server: 1.5, postgres: 0.3, load: 0.1, other: 0.1, idle: 6 },
        serverCpuMsPerMessage: 0.1711,
      },
    ],
    reads: [
      {
        id: 'history-newest',
        label: 'history, newest page',
        latency: latency(1.92, 5.4),
        requests: 20_000,
      },
      {
        id: 'history-deep',
        label: 'history, deep page',
        latency: latency(2.31, 7.8),
        requests: 20_000,
      },
      {
        id: 'conversations-first',
        label: 'conversation list, first page',
        latency: latency(2.05, 6.1),
        requests: 20_000,
      },
      {
        id: 'conversations-deep',
        label: 'conversation list, deep page',
        latency: latency(3.4, 11.2),
        requests: 20_000,
      },
    ],
    explain: {
      query:
        'SELECT * FROM message WHERE conversation_id = $1 AND id < $2 ORDER BY id DESC LIMIT 50',
      plan,
      hasSort: false,
      hasSeqScan: false,
    },
    memory: { rssAfterWarmupMiB: 142.6, rssAfterSendsMiB: 171.2, sends: 50_000 },
    statementsPerSend: 3,
    targets: [
      {
        name: 'api send throughput vs pgbench',
        ratio: 'api-send / pgbench',
        value: 0.35,
        goal: 0.5,
        met: false,
        note: 'the api adds a transaction per send',
      },
      {
        name: 'batched throughput vs pgbench',
        ratio: 'api-send-batched / pgbench',
        value: 0.71,
        goal: 0.5,
        met: true,
      },
      {
        name: 'deep history p99',
        ratio: 'history-deep p99 ms',
        value: 7.8,
        goal: 50,
        atMost: true,
        met: true,
      },
      {
        name: 'memory growth',
        ratio: 'rss after sends / after warm-up',
        value: 1.2,
        goal: 1.5,
        atMost: true,
        met: true,
      },
    ],
  };
}

/** Checks that every opened tag is closed in order; returns the tag names seen. */
/** The fixture without any CPU split, as a run without /proc writes it. */
function withoutCpu(results: BenchResults): BenchResults {
  return {
    ...results,
    throughput: results.throughput.map(
      ({ cpu: _cpu, serverCpuMsPerMessage: _perMessage, ...line }) => line,
    ),
  };
}

function checkBalanced(xmlText: string): Map<string, number> {
  const stack: string[] = [];
  const seen = new Map<string, number>();
  for (const match of xmlText.matchAll(/<(\/?)([A-Za-z][\w:-]*)([^<>]*?)(\/?)>/g)) {
    const [, closing, name = '', , selfClosing] = match;
    if (closing === '/') {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open ?? 'nothing'}>`);
    } else {
      seen.set(name, (seen.get(name) ?? 0) + 1);
      if (selfClosing !== '/') stack.push(name);
    }
  }
  if (stack.length > 0) throw new Error(`unclosed: ${stack.join(', ')}`);
  return seen;
}

/** Text outside tags must not contain a raw `<`, `>` or an `&` that starts no entity. */
function textOutsideTags(xmlText: string): string {
  return xmlText.replace(/<[^<>]*>/g, '');
}

describe('renderTable', () => {
  const table = renderTable(fakeResults());

  it('has a row for every throughput and read line, in pgbench, fastify, api, batched order', () => {
    const results = fakeResults();
    for (const line of [...results.throughput, ...results.reads]) {
      expect(table).toContain(line.label);
    }
    const positions = ['pgbench INSERT', 'bare fastify', 'api message.send', 'batched ×10'].map(
      (label) => table.indexOf(label),
    );
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  it('formats numbers with thousands separators and ratios to pgbench and fastify', () => {
    const apiRow = table.split('\n').find((row) => row.startsWith('api message.send '));
    expect(apiRow).toBeDefined();
    expect(apiRow).toContain('4,322');
    expect(apiRow).toContain('0.35×'); // 4,321.7 / 12,345.6
    expect(apiRow).toContain('0.44×'); // 4,321.7 / 9,876.5
    expect(apiRow).toContain('259,302 / 259,302');
    expect(table).toContain('525,924 / 525,920 (MISMATCH)');
  });

  it('aligns the columns of the throughput table', () => {
    const rows = table.split('\n');
    const header = rows.findIndex((row) => row.startsWith('line') && row.includes('messages/s'));
    const end = rows[header]?.indexOf('messages/s') ?? -1;
    expect(end).toBeGreaterThan(0);
    const columnEnd = end + 'messages/s'.length;
    // The rule under the header, then four rows whose right-aligned messages/s end under the header's.
    expect(rows[header + 1]?.charAt(columnEnd - 1)).toBe('-');
    for (const row of rows.slice(header + 2, header + 6)) {
      expect(row.charAt(columnEnd - 1)).toMatch(/\d/);
      expect(row.charAt(columnEnd)).toBe(' ');
    }
  });

  it('has a CPU table: cores per party, and server CPU per 1,000 messages', () => {
    const rows = table.split('\n');
    const start = rows.findIndex((row) => row.startsWith('CPU during the runs'));
    expect(rows[start]).toContain('the machine has 8 cores');
    expect(rows[start + 1]).toMatch(
      /^line\s+server\s+PostgreSQL\s+load generator\s+other\s+idle\s+server ms \/ 1,000 msgs$/,
    );
    const cpuRows = rows.slice(start + 3, start + 6);
    expect(cpuRows[0]).toMatch(/^pgbench INSERT\s+0\.00\s+1\.10\s+0\.45\s+0\.20\s+6\.25\s+—$/);
    expect(cpuRows[1]).toMatch(/^api message\.send\s+1\.20\s+0\.45\s+0\.25\s+0\.10\s+6\.00\s+278$/);
    expect(cpuRows[2]).toMatch(/^api message\.send, batched ×10\s+1\.50(\s+[\d.]+){4}\s+171$/);
    // bare fastify has no split: it is left out of the CPU table.
    expect(rows[start + 6]).toBe('');
  });

  it('leaves the CPU table out when no line has a split', () => {
    expect(renderTable(withoutCpu(fakeResults()))).not.toContain('CPU during the runs');
  });

  it('lists memory, statements per send and each target with PASS or FAIL', () => {
    expect(table).toContain('142.6 MiB');
    expect(table).toContain('171.2 MiB');
    expect(table).toContain('after 50,000 sends');
    expect(table).toContain('Statements per send: 3.00');
    for (const target of fakeResults().targets) {
      const row = table.split('\n').find((line) => line.includes(target.name));
      expect(row).toBeDefined();
      expect(row).toMatch(target.met ? /^PASS/ : /^FAIL/);
    }
    expect(table).toMatch(
      /FAIL\s+api send throughput vs pgbench\s+api-send \/ pgbench\s+0\.35\s+≥ 0\.50/,
    );
    expect(table).toContain('≤ 50.0');
    expect(table).toContain('3 of 4 targets met.');
  });
});

describe('renderSvg', () => {
  const svg = renderSvg(fakeResults());

  it('is one <svg> element with balanced tags', () => {
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const seen = checkBalanced(svg);
    expect(seen.get('svg')).toBe(1);
    for (const name of ['rect', 'text', 'g', 'title', 'line']) {
      expect(seen.get(name) ?? 0).toBeGreaterThan(0);
    }
  });

  it('is self-contained: a generic font family, no scripts, links or external references', () => {
    expect(svg).toContain('font-family="sans-serif"');
    expect(svg).not.toMatch(/<script|<image|<style|@import|href=|url\(/i);
  });

  it('escapes text inserted into the XML', () => {
    expect(svg).toContain('bare fastify + pg &lt;&amp;&gt; &quot;raw&quot;');
    expect(svg).not.toContain('<&>');
    const text = textOutsideTags(svg);
    expect(text).not.toMatch(/[<>]/);
    expect(text).not.toMatch(/&(?!(amp|lt|gt|quot|apos);)/);
  });

  it('has a bar per throughput line labelled with its value and ratio to pgbench', () => {
    expect(svg).toContain('12,346 msg/s · baseline');
    expect(svg).toContain('4,322 msg/s · 0.35× pgbench');
    expect(svg).toContain('8,765 msg/s · 0.71× pgbench');
    // The longest bar belongs to the fastest line.
    const widths = [...svg.matchAll(/<rect [^>]*width="([\d.]+)" height="18"/g)].map((m) =>
      Number(m[1]),
    );
    expect(widths).toHaveLength(4);
    expect(Math.max(...widths)).toBe(widths[0]);
  });

  it('has p50 and p99 for each line with latency and each read line', () => {
    for (const label of [
      'api message.send',
      'history, newest page',
      'history, deep page',
      'conversation list, first page',
      'conversation list, deep page',
    ]) {
      expect(svg).toContain(`>${label}</text>`);
    }
    expect(svg).toContain('p50 13.8 ms');
    expect(svg).toContain('p99 41.3 ms');
    expect(svg).toContain('p99 180 ms');
    expect(svg).toContain('p50 1.92 ms');
  });

  it('grows with the number of rows and is about 900 px wide', () => {
    const heightOf = (text: string): number => Number(/height="(\d+)"/.exec(text)?.[1]);
    const fewer = fakeResults();
    fewer.reads = fewer.reads.slice(0, 1);
    expect(svg).toContain('width="900"');
    expect(heightOf(svg)).toBeGreaterThan(heightOf(renderSvg(fewer)));
  });

  it('cuts a long label with an ellipsis and keeps it whole in the tooltip', () => {
    const long = fakeResults();
    const label = 'history, a very deep page far back in a long conversation';
    long.reads = [{ id: 'history-deeper', label, latency: latency(4, 9), requests: 10 }];
    const text = renderSvg(long);
    expect(text).toContain(`>${label.slice(0, 29)}…</text>`);
    expect(text).toContain(`<title>${label}: p50 4.00 ms, p99 9.00 ms</title>`);
  });

  it('copes with no lines at all', () => {
    const empty = { ...fakeResults(), throughput: [], reads: [] };
    const text = renderSvg(empty);
    expect(() => checkBalanced(text)).not.toThrow();
    expect(text).not.toContain('NaN');
    expect(text).not.toContain('Infinity');
  });
});

describe('renderMarkdown', () => {
  const markdown = renderMarkdown(fakeResults(), 'latest.svg');

  it('has a dated title, the settings and the chart', () => {
    expect(markdown.startsWith('# Benchmark report, 2025-12-04\n')).toBe(true);
    expect(markdown).toContain('![throughput and latency](latest.svg)');
    expect(markdown).toContain('64 connections');
    expect(markdown).toContain('3 rounds');
    expect(markdown).toContain('synchronous_commit=on');
    expect(markdown).toContain('pool size 20');
    expect(markdown).toContain('Quick mode: no');
  });

  it('has the throughput and read tables with escaped labels', () => {
    expect(markdown).toContain(
      '| api message.send | 4,322 | 4,322 | 13.8 | 41.3 | 0.35× | 0.44× | 259,302 / 259,302 | 0 |',
    );
    expect(markdown).toContain('bare fastify + pg &lt;&amp;&gt; "raw"');
    expect(markdown).toContain('**525,924 / 525,920 (MISMATCH)**');
    expect(markdown).toContain('| history, deep page | 2.31 |');
  });

  it('has a CPU section before the reads, with the number of cores', () => {
    const section = markdown.slice(
      markdown.indexOf('## CPU during the runs'),
      markdown.indexOf('## Reads'),
    );
    expect(section).toMatch(/^## CPU during the runs\n\n.*the machine has 8 cores\.\n/);
    expect(section).toContain(
      '| Line | server | PostgreSQL | load generator | other | idle | server ms / 1,000 msgs |',
    );
    expect(section).toContain('| pgbench INSERT | 0.00 | 1.10 | 0.45 | 0.20 | 6.25 | — |');
    expect(section).toContain('| api message.send | 1.20 | 0.45 | 0.25 | 0.10 | 6.00 | 278 |');
    expect(section).toContain('| api message.send, batched ×10 | 1.50 | 0.30 |');
    expect(section).not.toContain('bare fastify');
    expect(renderMarkdown(withoutCpu(fakeResults()), 'x.svg')).not.toContain('## CPU');
  });

  it('has the plan in a fenced block and says it has no Sort and no Seq Scan', () => {
    expect(markdown).toContain(`\`\`\`text\n${plan}\n\`\`\``);
    expect(markdown).toContain('no Sort node and no Seq Scan');
    const withSort = renderMarkdown(
      { ...fakeResults(), explain: { ...fakeResults().explain, hasSort: true } },
      'x.svg',
    );
    expect(withSort).toContain('has a Sort node');
  });

  it('shows memory, statements per send and the failing target as not met', () => {
    expect(markdown).toContain('142.6 MiB after warm-up');
    expect(markdown).toContain('171.2 MiB after 50,000 sends');
    expect(markdown).toContain('3.00 database statements per message.send');
    const failing = markdown
      .split('\n')
      .find((line) => line.includes('| api send throughput vs pgbench |'));
    expect(failing).toContain('❌ not met');
    expect(failing).toContain('0.35');
    expect(failing).toContain('≥ 0.50');
    expect(failing).toContain('the api adds a transaction per send');
    expect(markdown.match(/✅ met/g)).toHaveLength(3);
    expect(markdown).toContain('3 of 4 targets are met; 1 is not met.');
  });

  it('uses the <…> link form for a file name with spaces', () => {
    expect(renderMarkdown(fakeResults(), 'my chart.svg')).toContain(
      '![throughput and latency](<my chart.svg>)',
    );
  });
});

describe('writeReport', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('writes latest.json, latest.svg and latest.md into a new directory', async () => {
    const base = await mkdtemp(path.join(os.tmpdir(), 'bench-report-'));
    dirs.push(base);
    const dir = path.join(base, 'nested', 'results');
    const results = fakeResults();

    const paths = await writeReport(results, dir);

    expect(paths).toEqual({
      json: path.join(dir, 'latest.json'),
      markdown: path.join(dir, 'latest.md'),
      svg: path.join(dir, 'latest.svg'),
    });
    expect(JSON.parse(await readFile(paths.json, 'utf8'))).toEqual(results);
    const svg = await readFile(paths.svg, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(() => checkBalanced(svg)).not.toThrow();
    const markdown = await readFile(paths.markdown, 'utf8');
    expect(markdown).toContain('![throughput and latency](latest.svg)');
  });
});
