// What a taken warm process's Bash tool sources before each command (servers/executor/warm-process.ts):
// the session's own variables, which its environment, fixed before the session existed, cannot hold.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sessionEnvScript } from '../../servers/executor/warm-process.js';

/** The variables `script` exports, as a shell sourcing it sees them. */
function sourced(script: string, names: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'aof-env-'));
  try {
    writeFileSync(join(dir, 'env.sh'), script);
    const show = names.map((n) => `printf '%s\\n' "$${n}"`).join('; ');
    return execFileSync('/bin/sh', ['-c', `. ./env.sh; ${show}`], { cwd: dir, env: {} })
      .toString()
      .split('\n')
      .slice(0, names.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('warm process: the session environment of its Bash tool', () => {
  it("exports the session's name and TRACEPARENT, quoted as given", () => {
    const script = sessionEnvScript({
      AGENT_ORCHESTRATOR_SESSION_NAME: "lead's-1",
      TRACEPARENT: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'NOT A NAME': 'x',
    });
    assert.deepEqual(sourced(script, ['AGENT_ORCHESTRATOR_SESSION_NAME', 'TRACEPARENT']), [
      "lead's-1",
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    ]);
    assert.doesNotMatch(script, /NOT A NAME/);
  });

  it("sources the person's own CLAUDE_ENV_FILE first (the session's variables win), and none that is missing", () => {
    const dir = mkdtempSync(join(tmpdir(), 'aof-env-'));
    try {
      const theirs = join(dir, 'their env.sh');
      writeFileSync(theirs, 'export MINE=kept\nexport AGENT_ORCHESTRATOR_SESSION_NAME=theirs\n');
      const script = sessionEnvScript({ AGENT_ORCHESTRATOR_SESSION_NAME: 'lead' }, theirs);
      assert.deepEqual(sourced(script, ['MINE', 'AGENT_ORCHESTRATOR_SESSION_NAME']), ['kept', 'lead']);
      const missing = sessionEnvScript({ AGENT_ORCHESTRATOR_SESSION_NAME: 'lead' }, join(dir, 'gone.sh'));
      assert.deepEqual(sourced(missing, ['AGENT_ORCHESTRATOR_SESSION_NAME']), ['lead']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
