'use strict';
// Mocha's spec reporter, plus the closing line CI reads its verdict from: "N passed, N failed, N skipped".
// Above it, every skipped test by name with why (test/support/skip.ts puts the reason in its title), so
// that no test is skipped unseen: a skip without a reason says so.
const Mocha = require('mocha');

const REASON = / \(skipped: (.*)\)$/;

class SpecWithSummary extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const skipped = [];
    runner.on(Mocha.Runner.constants.EVENT_TEST_PENDING, (test) => skipped.push(test.fullTitle()));
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures, pending } = this.stats;
      if (skipped.length) {
        process.stdout.write(`\nSkipped (${skipped.length}):\n`);
        for (const title of skipped) {
          const reason = REASON.exec(title);
          process.stdout.write(
            reason
              ? `  - ${title.slice(0, reason.index)}: ${reason[1]}\n`
              : `  - ${title}: no reason given (use skipBecause from test/support/skip.ts)\n`,
          );
        }
      }
      process.stdout.write(`\n${passes} passed, ${failures} failed, ${pending} skipped\n`);
    });
  }
}

module.exports = SpecWithSummary;
