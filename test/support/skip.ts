/**
 * Skips the running test, or the whole suite when called from its `before` hook, saying why. The
 * reason joins each skipped test's title: the spec reporter shows it on the test's line, and the
 * summary reporter (summary-reporter.cjs) lists every skipped test with it above the closing line.
 * (A title is what survives mocha's worker processes; other fields of a test do not.)
 */
export function skipBecause(ctx: Mocha.Context, reason: string): never {
  const runnable = ctx.test as Mocha.Test | Mocha.Hook | undefined;
  const tests = runnable?.type === 'hook' ? testsOf(runnable.parent!) : runnable ? [runnable as Mocha.Test] : [];
  for (const test of tests) test.title = `${test.title} (skipped: ${reason})`;
  ctx.skip();
}

function testsOf(suite: Mocha.Suite): Mocha.Test[] {
  return [...suite.tests, ...suite.suites.flatMap(testsOf)];
}
