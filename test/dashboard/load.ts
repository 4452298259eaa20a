// Many sessions for the board's test and benchmark, made through the SDK like any client would.
import type { Orchestrator } from '../../sdk/index.js';

/** Creates `count` queued sessions named load-NNNNN from `from` on (no executor runs them), `parallel` requests at a time. */
export async function fillSessions(
  ao: Orchestrator,
  count: number,
  projectDir: string,
  parallel = 16,
  from = 0,
): Promise<void> {
  let next = from;
  const end = from + count;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < end) {
        const i = next++;
        await ao.sessions.create({
          name: `load-${String(i).padStart(5, '0')}`,
          prompt: `task ${i}`,
          project_dir: projectDir,
        });
      }
    }),
  );
}

/** Moves a queued session's run to finished, as a remote executor would report it. */
export async function finish(ao: Orchestrator, name: string): Promise<void> {
  await ao.sessions.appendEvents(name, [
    { type: 'session_start', data: { claude_session_id: `c-${name}` } },
    { type: 'message', data: { role: 'assistant', text: `done ${name}` } },
    {
      type: 'result',
      data: {
        is_error: false,
        text: `done ${name}`,
        total_cost_usd: 0.01,
        usage: { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      },
    },
    { type: 'session_stop', data: { reason: 'exited', exit_code: 0 } },
  ]);
}
