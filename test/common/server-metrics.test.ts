// Node's own metrics are the process's: collected once however many servers a process runs (a test
// process runs hundreds, one after another), each server showing them with its own `instance` label.
import assert from 'node:assert/strict';
import { ServerMetrics } from '../../servers/common/telemetry/metrics.js';

describe('server metrics: the process collectors', () => {
  it("shows Node's metrics in every server's text, with that server's instance", async () => {
    const a = new ServerMetrics('a');
    const b = new ServerMetrics('b');
    const [textA, textB] = await Promise.all([a.text(), b.text()]);
    assert.match(textA, /^nodejs_eventloop_lag_p99_seconds\{instance="a"\} \d/m);
    assert.match(textB, /^nodejs_eventloop_lag_p99_seconds\{instance="b"\} \d/m);
    assert.match(textB, /^process_cpu_seconds_total\{instance="b"\} \d/m);
    assert.doesNotMatch(textA, /instance="b"/);
  });

  it('shares one set of collectors between servers: the same metric objects, not one timer each', () => {
    const names = (m: ServerMetrics) =>
      m.local.getMetricsAsArray().filter((metric) => /^(nodejs|process)_/.test(metric.name));
    const first = names(new ServerMetrics('one'));
    const second = names(new ServerMetrics('two'));
    assert.ok(first.length > 10, `${first.length} process metrics`);
    assert.equal(first.length, second.length);
    for (const [i, metric] of first.entries()) assert.equal(metric, second[i], metric.name);
  });
});
