'use strict';
// Mocha's spec reporter, plus the closing line CI reads its verdict from: "N passed, N failed, N skipped".
// Both come at the very end (`done`), not at the first 'end' event: in a parallel run a test file that
// fails to load or whose worker dies is reported after a 'begin'/'end' pair of its own, and its failure
// must be in the list and the counts.
const Mocha = require('mocha');

class SpecWithSummary extends Mocha.reporters.Spec {
  epilogue() {}

  done(failures, fn) {
    super.epilogue();
    const { passes, failures: failed, pending } = this.stats;
    process.stdout.write(`\n${passes} passed, ${failed} failed, ${pending} skipped\n`);
    fn(failures);
  }
}

module.exports = SpecWithSummary;
