'use strict';
// Mocha's spec reporter, plus the closing line CI reads its verdict from: "N passed, N failed, N skipped".
// Above it, every skipped test by name with why (test/support/skip.ts puts the reason in its title), so
// that no test is skipped unseen: a skip without a reason says so.
// All of it comes at the very end (`done`), not at the first 'end' event: in a parallel run a test file that
// fails to load or whose worker dies is reported after a 'begin'/'end' pair of its own, and its failure
// must be in the list and the counts.
const Mocha = require('mocha');

const REASON = / \(skipped: (.*)\)$/;

class SpecWithSummary extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    this.skipped = [];
    runner.on(Mocha.Runner.constants.EVENT_TEST_PENDING, (test) => this.skipped.push(test.fullTitle()));
  }

  epilogue() {}

  done(failures, fn) {
    super.epilogue();
    const { passes, failures: failed, pending } = this.stats;
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
