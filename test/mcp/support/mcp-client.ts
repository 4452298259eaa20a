// The MCP SDK's real client, connected to ao-mcp over stdio (the built bin) or Streamable HTTP.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { repoRoot } from '../../support/claude-env.js';

export const aoMcpBin = join(repoRoot, 'dist/bin/ao-mcp.js');

/** The stdio and bin tests run the built bin: build first (`npm run build`). */
export function requireBuild(): void {
  if (!existsSync(aoMcpBin)) throw new Error(`${aoMcpBin} is missing — build first: npm run build`);
}

export async function stdioClient(
  env: Record<string, string>,
  options: { cwd?: string; args?: string[] } = {},
): Promise<{ client: Client; stderr: () => string }> {
  requireBuild();
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [aoMcpBin, ...(options.args ?? [])],
    env,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stderr: 'pipe',
  });
  let log = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString('utf8');
    if (process.env.AOF_TEST_LOGS) process.stderr.write(`[ao-mcp] ${chunk.toString('utf8')}`);
  });
  const client = new Client({ name: 'aof-test', version: '0.0.0' });
  await client.connect(transport);
  return { client, stderr: () => log };
}

export async function httpClient(endpoint: string, headers: Record<string, string> = {}): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(endpoint), { requestInit: { headers } });
  const client = new Client({ name: 'aof-test', version: '0.0.0' });
  await client.connect(transport);
  return client;
}

export interface ToolAnswer {
  text: string;
  isError: boolean;
  structured: any;
}

/** Calls a tool and flattens its answer. */
export async function call(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
  options: { timeoutMs?: number; onprogress?: (progress: Progress) => void } = {},
): Promise<ToolAnswer> {
  const result = await client.callTool({ name, arguments: args }, undefined, {
    timeout: options.timeoutMs ?? 60_000,
    ...(options.onprogress ? { onprogress: options.onprogress, resetTimeoutOnProgress: true } : {}),
  });
  const content = (result.content ?? []) as Array<{ type: string; text?: string }>;
  return {
    text: content.map((c) => (c.type === 'text' ? (c.text ?? '') : '')).join(''),
    isError: result.isError === true,
    structured: result.structuredContent,
  };
}

/** `node dist/bin/ao-mcp.js --http ...`, resolved once it says where it listens. */
export async function startHttpBin(
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ child: ChildProcess; endpoint: string; stop(): Promise<void> }> {
  requireBuild();
  const child = spawn(process.execPath, [aoMcpBin, '--http', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    const log: string[] = [];
    createInterface({ input: child.stderr! }).on('line', (line) => {
      log.push(line);
      if (process.env.AOF_TEST_LOGS) process.stderr.write(`[ao-mcp] ${line}\n`);
      const match = /listening on (\S+)/.exec(line);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`ao-mcp --http exited with ${code}:\n${log.join('\n')}`)));
  });
  return {
    child,
    endpoint,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
