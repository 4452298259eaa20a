/**
 * What every agent learns besides its RunSpec's variables (its session's name, its TRACEPARENT): where
 * and how to reach the runtime, with its run's own credential (never the person's token), so that a
 * session it starts (ao-new, the SDK, the MCP server) records it as the parent. Where the runtime is
 * depends on the host the agent runs on, so the executor says it, not the runtime.
 */
export function agentEnvironment(runtimeUrl: string, credential: string | undefined): Record<string, string> {
  return {
    ...(runtimeUrl ? { AGENT_ORCHESTRATOR_SESSION_API_URL: runtimeUrl } : {}),
    ...(credential ? { AGENT_ORCHESTRATOR_API_TOKEN: credential } : {}),
  };
}
