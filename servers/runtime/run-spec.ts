/**
 * The RunSpec of a session's run: everything its executor needs (the runtime's own, or a runner's),
 * and nothing else of the session. Pure: the caller loads what is kept elsewhere (the saved
 * conversation) and mints the credential.
 */
import { DEFAULT_CLI } from '../common/agent/agent-clis.js';
import { runTraceparent } from '../common/telemetry/trace-ids.js';
import { RUN_SPEC_VERSION, type RunSpec } from '../executor/run-spec.js';
import type { StoredRun, StoredSession } from './session-store.js';
import { outputSchemaOf } from './structured-output.js';

export interface RunSpecInputs {
  /** The conversation the run continues, as kept (gzip): the session's own, or a fork's source's. */
  conversation: Buffer | null;
  /** The run's own credential; absent for an agent started before (it has it). */
  credential?: string | undefined;
  /** Whether runs are traced: then the agent gets its run's TRACEPARENT. */
  tracing: boolean;
}

export function buildRunSpec(session: StoredSession, run: StoredRun, inputs: RunSpecInputs): RunSpec {
  const blueprint = session.blueprint;
  return {
    version: RUN_SPEC_VERSION,
    session: session.name,
    run: run.number,
    prompt: run.prompt,
    project_dir: session.project_dir,
    conversation: {
      id: session.claude_session_id ?? '',
      started: session.conversation_started === true,
      fork_of: session.forked_from?.claude_session_id ?? null,
      saved: inputs.conversation?.toString('base64') ?? null,
    },
    agent: {
      cli: blueprint?.cli ?? DEFAULT_CLI,
      system_prompt: blueprint?.system_prompt ?? null,
      model: blueprint?.model ?? null,
      permission_mode: blueprint?.permission_mode ?? null,
      allowed_tools: blueprint?.allowed_tools ?? [],
      disallowed_tools: blueprint?.disallowed_tools ?? [],
      mcp_servers: blueprint?.mcp_servers ?? {},
    },
    approval: blueprint?.approval !== undefined,
    output_schema: outputSchemaOf(session) as RunSpec['output_schema'],
    env: {
      vars: {
        AGENT_ORCHESTRATOR_SESSION_NAME: session.name,
        // The agent's own spans (Claude Code's, when its telemetry is on) nest under the run's.
        ...(inputs.tracing ? { TRACEPARENT: runTraceparent(session, run.number) } : {}),
      },
      ...(inputs.credential ? { credential: inputs.credential } : {}),
    },
    limits: session.limits ?? null,
    ...(blueprint
      ? {
          warm: {
            blueprint: blueprint.name,
            count: blueprint.warm ?? 0,
            after_run_seconds: blueprint.warm_after_run ?? 0,
          },
        }
      : {}),
  };
}
