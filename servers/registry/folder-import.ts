import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { contract } from '../common/contract/contract.js';
import { checkCliSettings } from '../common/agent/agent-clis.js';
import { checkOutputSchema } from '../common/contract/output-schema.js';
import { fieldErrors } from '../common/contract/validation.js';
import type { Logger } from '../common/logger.js';
import type { AgentCreate, AgentStore } from './agent-store.js';

const validateAgent = contract.compile('registry', { $ref: '#/components/schemas/AgentCreate' });

/**
 * Imports blueprints kept as folders: `<dir>/<name>/agent.json` (name, description and optional
 * settings), optional `agent.system-prompt.md` and `agent.mcp.json` (`{"mcpServers": {...}}`).
 * A broken folder is reported by name and skipped; it never stops the server.
 */
export async function importAgentFolders(
  dir: string,
  store: AgentStore,
  logger: Logger,
): Promise<{ imported: string[]; failed: string[] }> {
  const imported: string[] = [];
  const failed: string[] = [];
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { imported, failed };
    throw error;
  }
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    try {
      const agent = await readAgentFolder(join(dir, entry.name));
      await store.upsertFromFolder(agent);
      imported.push(agent.name);
    } catch (error) {
      failed.push(entry.name);
      logger.warn(`skipped agent folder '${entry.name}' in ${dir}: ${(error as Error).message}`);
    }
  }
  if (imported.length) logger.info(`imported ${imported.length} agent(s) from ${dir}: ${imported.join(', ')}`);
  return { imported, failed };
}

async function readAgentFolder(folder: string): Promise<AgentCreate> {
  const agent = parseJson(await readFile(join(folder, 'agent.json'), 'utf8'), 'agent.json') as Record<string, unknown>;
  if (!agent || typeof agent !== 'object' || Array.isArray(agent)) throw new Error('agent.json: must be a JSON object');
  agent.name ??= basename(folder);
  const prompt = await readOptional(join(folder, 'agent.system-prompt.md'));
  if (prompt !== undefined) agent.system_prompt = prompt;
  const mcp = await readOptional(join(folder, 'agent.mcp.json'));
  if (mcp !== undefined) {
    const servers = (parseJson(mcp, 'agent.mcp.json') as { mcpServers?: unknown }).mcpServers;
    if (!servers) throw new Error('agent.mcp.json: has no "mcpServers" object');
    agent.mcp_servers = servers;
  }
  if (validateAgent(agent)) {
    const valid = agent as unknown as AgentCreate;
    checkCliSettings(valid.cli, valid);
  } else {
    throw new Error(
      fieldErrors('agent', validateAgent.errors)
        .map((e) => `${e.field} ${e.message}`)
        .join('; '),
    );
  }
  checkOutputSchema(agent.output_schema as object | undefined, 'agent.output_schema');
  return agent as unknown as AgentCreate;
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
