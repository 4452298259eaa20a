/**
 * What every agent learns about itself: its session's name, and where and how to reach the runtime
 * (its run's own credential, never the person's token), so that a session it starts (ao-new, the SDK,
 * the MCP server) records it as the parent.
 */
export function agentEnvironment(
  name: string,
  runtimeUrl: string,
  credential: string | undefined,
): Record<string, string> {
  return {
    AGENT_ORCHESTRATOR_SESSION_NAME: name,
    ...(runtimeUrl ? { AGENT_ORCHESTRATOR_SESSION_API_URL: runtimeUrl } : {}),
    ...(credential ? { AGENT_ORCHESTRATOR_API_TOKEN: credential } : {}),
  };
}
