import { createContext } from 'preact';
import { useCallback, useContext } from 'preact/hooks';
import type { Orchestrator } from '../../sdk/index.js';
import type { Principal } from '../../sdk/types.js';
import { isUnauthorized } from './api.js';

/** Who the dashboard acts as, and what its role lets it do (the servers refuse the rest anyway). */
export interface Access {
  /** Who the runtime says this browser is (undefined when it could not say). */
  who: Principal | undefined;
  /** Start, stop, resume, delete sessions and answer questions: an admin or operator. */
  mayAct: boolean;
  /** Change blueprints: an admin. */
  mayManage: boolean;
}

export const FULL_ACCESS: Access = { who: undefined, mayAct: true, mayManage: true };

/** What a principal's role allows in the dashboard's buttons (scope.ts decides for the servers). */
export function accessOf(who: Principal | undefined): Access {
  const role = who?.role;
  return { who, mayAct: role !== 'viewer', mayManage: role === undefined || role === 'admin' };
}

export const ClientContext = createContext<
  { client: Orchestrator; onUnauthorized: () => void; access?: Access } | undefined
>(undefined);

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

/** What this browser may do: a viewer gets a dashboard without action buttons. */
export function useAccess(): Access {
  return useContext(ClientContext)?.access ?? FULL_ACCESS;
}
