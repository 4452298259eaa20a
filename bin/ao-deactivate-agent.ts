#!/usr/bin/env node
import { agentStatusCommand } from './lib/agent-status.js';

await agentStatusCommand('ao-deactivate-agent', 'inactive');
