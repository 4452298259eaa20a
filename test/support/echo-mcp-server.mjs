#!/usr/bin/env node
// Minimal stdio MCP server for tests, no dependencies: newline-delimited JSON-RPC 2.0 on stdin/stdout.
// One tool, `echo` ({text}) -> the same text. Seen by Claude Code as `mcp__<server name>__echo`.
import { createInterface } from 'node:readline';

const TOOLS = [
  {
    name: 'echo',
    description: 'Returns the given text unchanged.',
    inputSchema: {
      type: 'object',
      properties: { text: { type: 'string', description: 'Text to echo back' } },
      required: ['text'],
    },
  },
];

function handle(method, params) {
  switch (method) {
    case 'initialize':
      return {
        protocolVersion: params?.protocolVersion ?? '2025-06-18',
        capabilities: { tools: {} },
        serverInfo: { name: 'echo', version: '1.0.0' },
      };
    case 'ping':
      return {};
    case 'tools/list':
      return { tools: TOOLS };
    case 'tools/call':
      if (params?.name !== 'echo') throw Object.assign(new Error(`unknown tool ${params?.name}`), { code: -32602 });
      return { content: [{ type: 'text', text: String(params.arguments?.text ?? '') }] };
    default:
      throw Object.assign(new Error(`method not found: ${method}`), { code: -32601 });
  }
}

const send = (msg) => process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', ...msg })}\n`);

createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.trim()) return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    send({ id: null, error: { code: -32700, message: 'parse error' } });
    return;
  }
  // Notifications (notifications/initialized...) and responses get no answer.
  if (msg.id === undefined || msg.id === null || typeof msg.method !== 'string') return;
  try {
    send({ id: msg.id, result: handle(msg.method, msg.params) });
  } catch (err) {
    send({ id: msg.id, error: { code: err.code ?? -32603, message: err.message } });
  }
});
