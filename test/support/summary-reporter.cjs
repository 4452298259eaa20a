'use strict';
// Mocha's spec reporter, plus the closing line CI reads its verdict from: "N passed, N failed, N skipped".
// Above it, every skipped test by name with why (test/support/skip.ts puts the reason in its title), so
// that no test is skipped unseen: a skip without a reason says so.
// All of it comes at the very end (`done`), not at the first 'end' event: in a parallel run a test file that
// fails to load or whose worker dies is reported after a 'begin'/'end' pair of its own, and its failure
// must be in the list and the counts.
// AOF_TEST_TIMINGS=1: above the closing line, the 25 slowest files with their wall times (AOF_TEST_TIMINGS=all:
// every file), from loading the file to the end of its last hook, and when each ended after the run began
// (what a file started late adds to the run). In a parallel run the workers measure
// (test/support/file-timings.cjs); in a serial run, this reporter.
const { readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, relative } = require('node:path');
// mocha's own CommonJS module, the one its CLI and workers load (`mocha`'s main is ESM: required from
// Node 20.19+, it is the module namespace, not the class).
const Mocha = require('mocha/lib/mocha.cjs');

const REASON = / \(skipped: (.*)\)$/;

class SpecWithSummary extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    this.skipped = [];
    runner.on(Mocha.Runner.constants.EVENT_TEST_PENDING, (test) => this.skipped.push(test.fullTitle()));
    this.timings = process.env.AOF_TEST_TIMINGS ? this.startTimings(runner, options) : undefined;
  }

  /** Where each file's times come from: a file the workers append to, or this process's own clock. */
  startTimings(runner, options) {
    const timings = { began: Date.now(), files: new Map(), output: undefined };
    if (options.parallel) {
      timings.output = join(tmpdir(), `aof-test-timings-${process.pid}.jsonl`);
      writeFileSync(timings.output, '');
      process.env.AOF_TEST_TIMINGS_FILE = timings.output;
      return timings;
    }
    const { EVENT_SUITE_BEGIN, EVENT_SUITE_END } = Mocha.Runner.constants;
    runner.on(EVENT_SUITE_BEGIN, (suite) => {
      if (suite.file && !timings.files.has(suite.file)) timings.files.set(suite.file, { started: Date.now() });
    });
    runner.on(EVENT_SUITE_END, (suite) => {
      const file = suite.file && timings.files.get(suite.file);
      if (file) file.ended = Date.now();
    });
    return timings;
  }

  printTimings() {
    const { began, files, output } = this.timings;
    if (output) {
      for (const line of readFileSync(output, 'utf8').split('\n')) {
        if (!line) continue;
        const { file, started, ended } = JSON.parse(line);
        files.set(file, { started, ended });
      }
      // AOF_TEST_TIMINGS=keep: the lines stay (each file's worker pid, start and end) for a closer look.
      if (process.env.AOF_TEST_TIMINGS === 'keep') process.stdout.write(`Per-file times kept in ${output}\n`);
      else rmSync(output, { force: true });
    }
    const rows = [...files]
      .filter(([, times]) => times.ended !== undefined)
      .map(([file, { started, ended }]) => ({
        file: relative(process.cwd(), file),
        ms: ended - started,
        ended: ended - began,
      }))
      .sort((a, b) => b.ms - a.ms);
    const all = process.env.AOF_TEST_TIMINGS === 'all';
    const shown = all ? rows : rows.slice(0, 25);
    const seconds = (ms) => (ms / 1000).toFixed(1).padStart(6);
    const total = rows.reduce((sum, row) => sum + row.ms, 0);
    process.stdout.write(
      `\nFile wall times (${all ? 'all' : `slowest ${shown.length}`} of ${rows.length} files; ` +
        `sum ${seconds(total).trim()} s, run ${seconds(Date.now() - began).trim()} s):\n` +
        '     s  ended at  file\n',
    );
    for (const row of shown) process.stdout.write(`${seconds(row.ms)}  ${seconds(row.ended)}    ${row.file}\n`);
  }

  epilogue() {}

  done(failures, fn) {
    super.epilogue();
    const { passes, failures: failed, pending } = this.stats;
    if (this.timings) this.printTimings();
    if (this.skipped.length) {
      process.stdout.write(`\nSkipped (${this.skipped.length}):\n`);
      for (const title of this.skipped) {
        const reason = REASON.exec(title);
        process.stdout.write(
          reason
            ? `  - ${title.slice(0, reason.index)}: ${reason[1]}\n`
            : `  - ${title}: no reason given (use skipBecause from test/support/skip.ts)\n`,
        );
      }
    }
    process.stdout.write(`\n${passes} passed, ${failed} failed, ${pending} skipped\n`);
    fn(failures);
  }
}

module.exports = SpecWithSummary;
