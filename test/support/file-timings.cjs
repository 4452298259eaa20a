'use strict';
// Per-file wall times for the summary reporter (AOF_TEST_TIMINGS=1, test/support/summary-reporter.cjs).
// In a parallel run the main process sees a file's events only once the file has finished, all at once,
// so it cannot time the file: the worker that runs it does. Loaded with `--require` (.mocharc.json) in
// every mocha process, it acts only in a worker of a timed run (the reporter names the output in
// AOF_TEST_TIMINGS_FILE before the workers start): from loading the file (its imports included) to the
// end of its run (its hooks included), one JSON line per file, appended, with the CPU time the worker
// itself spent on it (cpuMs: not that of the processes the file started).
const { appendFileSync } = require('node:fs');
// mocha's own CommonJS module, the one its CLI and workers load (`mocha`'s main is ESM: required from
// Node 20.19+, it is the module namespace, not the class).
const Mocha = require('mocha/lib/mocha.cjs');

const output = process.env.AOF_TEST_TIMINGS_FILE;
if (output && !Mocha.prototype.aofTimed) {
  const { loadFilesAsync, run } = Mocha.prototype;
  Mocha.prototype.aofTimed = true;
  Mocha.prototype.loadFilesAsync = function (...args) {
    this.aofStartedAt = Date.now();
    this.aofCpuAt = process.cpuUsage();
    return loadFilesAsync.apply(this, args);
  };
  Mocha.prototype.run = function (fn) {
    return run.call(this, (result) => {
      const started = this.aofStartedAt;
      if (started !== undefined) {
        for (const file of this.files) {
          const { user, system } = process.cpuUsage(this.aofCpuAt);
          const cpuMs = Math.round((user + system) / 1000);
          appendFileSync(output, `${JSON.stringify({ file, pid: process.pid, started, ended: Date.now(), cpuMs })}\n`);
        }
      }
      if (fn) fn(result);
    });
  };
}
