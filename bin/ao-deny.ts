#!/usr/bin/env node
import { answerApproval } from './lib/approvals.js';
import { main, stringOption } from './lib/cli.js';

await main({
  name: 'ao-deny',
  args: ['target'],
  description: [
    'Refuses an agent the tool it asked for: answers an approval request (ID, apr_...) or the oldest pending request of a session (NAME).',
    'The message reaches the model, which can change course; without one it is told that a person denied the tool use.',
  ],
  options: [
    {
      name: 'message',
      short: 'm',
      type: 'string',
      value: 'TEXT',
      description: 'What the model is told, e.g. "use the test database instead"',
    },
  ],
  examples: ['ao-deny fix-tests', 'ao-deny fix-tests -m "Do not delete build/; run make clean"'],
  async run(ctx, [target], options) {
    const message = stringOption(options, 'message');
    await answerApproval(ctx, target!, { approve: false, message });
  },
});
