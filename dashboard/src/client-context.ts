import { createContext } from 'preact';
import { useCallback, useContext } from 'preact/hooks';
import type { Orchestrator } from '../../sdk/index.js';
import { isUnauthorized } from './api.js';

export const ClientContext = createContext<{ client: Orchestrator; onUnauthorized: () => void } | undefined>(undefined);

/** The SDK client, and `guard` that sends a 401 back to the token prompt and rethrows the rest. */
export function useClient(): { client: Orchestrator; guard: (error: unknown) => never } {
  const context = useContext(ClientContext);
  if (!context) throw new Error('useClient outside ClientContext');
  const { client, onUnauthorized } = context;
  const guard = useCallback(
    (error: unknown): never => {
      if (isUnauthorized(error)) onUnauthorized();
      throw error;
    },
    [onUnauthorized],
  );
  return { client, guard };
}
