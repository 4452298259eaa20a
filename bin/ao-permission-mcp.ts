#!/usr/bin/env node
/**
 * `ao-permission-mcp`: the permission tool the Agent Runtime gives an agent in approval mode (see
 * servers/mcp/permission-tool.ts). The runtime starts it through the agent's MCP config; it is not
 * a command for people.
 */
import { servePermissionTool } from '../servers/mcp/permission-tool.js';
import { installFetchClasses } from './lib/fetch-classes.js';

// The tool's SDK client calls over node:http; the light classes spare it loading Node's fetch too.
installFetchClasses();
servePermissionTool().catch((error: Error) => {
  process.stderr.write(`ao-permission-mcp: ${error.message}\n`);
  process.exit(1);
});
