#!/usr/bin/env node
import { answerApproval } from './lib/approvals.js';
import { main } from './lib/cli.js';

await main({
  name: 'ao-approve',
  args: ['target'],
  description: [
    'Lets an agent use the tool it asked for: answers an approval request (ID, apr_...) or the oldest pending request of a session (NAME).',
    'Agents ask when their blueprint has an approval policy; ao-approvals lists what waits.',
  ],
  examples: ['ao-approve fix-tests', 'ao-approve apr_3f2a9c0d1e2b4a5c6d'],
  async run(ctx, [target]) {
    await answerApproval(ctx, target!, { approve: true });
  },
});
