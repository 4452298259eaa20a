import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatUsdTicks } from '../../../sdk/money.js';
import { describe } from '../api.js';
import { formatCost, formatDuration, formatTokens } from '../attention.js';
import { useClient } from '../client-context.js';
import { href } from '../router.js';
import type { UsageReport } from '../../../sdk/types.js';
import { toCsv, usageBy, usageTotal, type UsageKey, type UsageRow } from '../usage.js';

const TABS: Array<[UsageKey, string]> = [
  ['day', 'Per day'],
  ['blueprint', 'Per blueprint'],
  ['session', 'Per session'],
];

export function UsageView() {
  const { client, guard } = useClient();
  const [report, setReport] = useState<UsageReport>();
  const [error, setError] = useState<string>();
  const [by, setBy] = useState<UsageKey>('day');

  useEffect(() => {
    document.title = 'Usage · aof';
    client.sessions
      .usage()
      .catch(guard)
      .then(setReport, (caught) => setError(describe(caught)));
  }, [client, guard]);

  if (error)
    return (
      <p class="error" role="alert">
        {error}
      </p>
    );
  if (!report) return <p>Reading usage…</p>;
  const rows = usageBy(report, by);
  const total = usageTotal(report);
  const download = () => {
    const url = URL.createObjectURL(new Blob([toCsv([...rows, total], by)], { type: 'text/csv' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = `aof-usage-per-${by}.csv`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  return (
    <section aria-labelledby="usage-title">
      <div class="title-row">
        <h1 id="usage-title">Usage</h1>
        <button type="button" onClick={download}>
          Export CSV
        </button>
      </div>
      <dl class="facts card totals">
        <div>
          <dt>Cost</dt>
          <dd data-testid="total-cost">{formatCost(total.cost_usd, total.estimated)}</dd>
        </div>
        <div>
          <dt>Output tokens</dt>
          <dd>{formatTokens(total.output_tokens)}</dd>
        </div>
        <div>
          <dt>Input tokens</dt>
          <dd>{formatTokens(total.input_tokens)}</dd>
        </div>
        <div>
          <dt>Cached reads</dt>
          <dd>{formatTokens(total.cache_read_input_tokens)}</dd>
        </div>
        <div>
          <dt>Runs</dt>
          <dd>{total.runs}</dd>
        </div>
        <div>
          <dt>Sessions</dt>
          <dd>{total.sessions}</dd>
        </div>
      </dl>
      <div class="tabs" role="tablist">
        {TABS.map(([key, label]) => (
          <button type="button" role="tab" aria-selected={by === key} onClick={() => setBy(key)}>
            {label}
          </button>
        ))}
      </div>
      {by !== 'session' && rows.length > 0 && (
        <div class="card chart-card">
          <BarChart rows={rows} />
        </div>
      )}
      <div class="table-wrap">
        <table class="usage">
          <thead>
            <tr>
              <th scope="col">{by}</th>
              <th scope="col">sessions</th>
              <th scope="col">runs</th>
              <th scope="col">input</th>
              <th scope="col">output</th>
              <th scope="col">cached</th>
              <th scope="col" title="From each run's start to its end (to now for a run still going), summed">
                wall time
              </th>
              <th scope="col" title="The durations Claude Code reported for the runs, summed">
                time (Claude Code)
              </th>
              <th scope="col">cost</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr>
                <th scope="row">{by === 'session' ? <a href={href('sessions', r.key)}>{r.key}</a> : r.key}</th>
                <td>{r.sessions}</td>
                <td>{r.runs}</td>
                <td>{formatTokens(r.input_tokens)}</td>
                <td>{formatTokens(r.output_tokens)}</td>
                <td>{formatTokens(r.cache_read_input_tokens)}</td>
                <td>{formatDuration(r.wall_ms)}</td>
                <td>{formatDuration(r.duration_ms)}</td>
                <td>{formatCost(r.cost_usd, r.estimated)}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row">total</th>
              <td>{total.sessions}</td>
              <td>{total.runs}</td>
              <td>{formatTokens(total.input_tokens)}</td>
              <td>{formatTokens(total.output_tokens)}</td>
              <td>{formatTokens(total.cache_read_input_tokens)}</td>
              <td>{formatDuration(total.wall_ms)}</td>
              <td>{formatDuration(total.duration_ms)}</td>
              <td>{formatCost(total.cost_usd, total.estimated)}</td>
            </tr>
          </tfoot>
        </table>
      </div>
      <p class="muted small">
        The runtime's usage report, as ao-usage prints it: a run counts on the day (UTC) it started.
      </p>
    </section>
  );
}

/** Cost as bars and output tokens as a line, one x slot per row (a day or a blueprint). */
function BarChart({ rows }: { rows: UsageRow[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const style = getComputedStyle(document.documentElement);
    const color = (name: string) => style.getPropertyValue(name).trim() || '#888';
    const xs = rows.map((_, i) => i);
    const plot = new uPlot(
      {
        width: Math.max(280, el.clientWidth),
        height: 220,
        scales: {
          x: { time: false, range: [-0.6, rows.length - 0.4] },
          // Bars start at zero, so their heights compare as their costs do.
          y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] },
          tokens: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] },
        },
        axes: [
          {
            stroke: color('--muted'),
            grid: { show: false },
            values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? (rows[t]?.key ?? '') : '')),
            splits: () => xs,
          },
          {
            stroke: color('--muted'),
            values: (_u, ticks) => {
              const labels = formatUsdTicks(ticks);
              el.dataset.costAxis = labels.join(' '); // what the axis reads, for a test or a screen reader's tools
              return labels;
            },
            size: 60,
            grid: { stroke: color('--line') },
          },
          {
            scale: 'tokens',
            side: 1,
            stroke: color('--muted'),
            values: (_u, ticks) => ticks.map((t) => formatTokens(t)),
            grid: { show: false },
            size: 60,
          },
        ],
        series: [
          {},
          {
            label: 'cost',
            stroke: color('--accent'),
            fill: color('--accent-soft'),
            paths: uPlot.paths.bars!({ size: [0.6, 60] }),
            points: { show: false },
            value: (_u, v) => formatCost(v),
          },
          {
            label: 'output tokens',
            scale: 'tokens',
            stroke: color('--warn'),
            width: 2,
            value: (_u, v) => (v === null ? '–' : formatTokens(v)),
          },
        ],
        legend: { show: true },
      },
      [xs, rows.map((r) => r.cost_usd), rows.map((r) => r.output_tokens)],
      el,
    );
    const resize = () => plot.setSize({ width: Math.max(280, el.clientWidth), height: 220 });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [rows]);
  return <div ref={box} class="chart" aria-label="Cost and output tokens chart" role="img" />;
}
