/**
 * What an agent's credential may do: its scope is its own session and that session's descendants.
 * People (the servers' token) may do everything. Every operation of the runtime's contract is listed
 * here (the compiler checks it), so a new one cannot be forgotten: it must say what agents may do.
 */
import type { operations } from '../../sdk/generated/runtime.js';
import type { Authorize } from '../common/http/operations.js';
import {
  forbiddenFor,
  isAgent,
  outOfScope,
  principalOf,
  type AgentPrincipal,
  type Principal,
} from '../common/http/principal.js';
import { ACTIONS } from './actions.js';
import type { ApprovalService } from './approvals.js';
import type { SessionService } from './session-service.js';

/** What a viewer may do: read. */
const VIEWER_MAY = new Set<keyof operations>([
  'getHealth',
  'getRuntimeInfo',
  'whoAmI',
  'listSessions',
  'getSession',
  'getSessionStatus',
  'getSessionResult',
  'getSessionTree',
  'listSessionCallbacks',
  'listSessionEvents',
  'streamSessionEvents',
  'streamSessionChanges',
  'listApprovals',
  'getApproval',
  'getUsage',
  'getSessionChanges',
  'listSessionCheckpoints',
  'getMetrics',
  'listAudit',
  'createLoginLink',
  'logout',
  'listSchedules',
  'getSchedule',
  'listTriggers',
  'getTrigger',
]);

/** What an operator may not do: manage tokens, or act as a runner or an executor. */
const NOT_FOR_OPERATORS = new Set<keyof operations>([
  'listTokens',
  'createToken',
  'revokeToken',
  'claimRun',
  'heartbeatRunner',
  'reportRun',
  'appendSessionEvents',
]);

/** What a runner's token may do: the runner endpoints. */
const RUNNER_MAY = new Set<keyof operations>(['getHealth', 'whoAmI', 'claimRun', 'heartbeatRunner', 'reportRun']);

/** A person's role decides: admin everything, operator sessions and approvals, viewer reading; a runner's token, runner work. */
function checkRole(person: Principal, operationId: keyof operations): void {
  const what = ACTIONS[operationId];
  if (person.kind === 'runner' && !RUNNER_MAY.has(operationId))
    throw forbiddenFor(person, what, "a runner's token is good only for the runner endpoints");
  if (person.role === 'viewer' && !VIEWER_MAY.has(operationId)) throw forbiddenFor(person, what, 'a viewer only reads');
  if (person.role === 'operator' && NOT_FOR_OPERATORS.has(operationId))
    throw forbiddenFor(
      person,
      what,
      'an operator works with sessions and approvals; an admin manages tokens and runners',
    );
}

/** Longer parent chains than this are not followed (a chain is never this long in practice). */
const MAX_DEPTH = 1000;

/** An operation's input as the rules read it: path parameters by name, the body as an object. */
interface Input {
  path: Record<string, string>;
  body: Record<string, unknown>;
}

/** The sessions a scope is about, and how to tell where they sit. */
export class Scopes {
  constructor(
    private readonly sessions: SessionService,
    private readonly approvals: ApprovalService,
  ) {}

  /** Whether `name` is `root` or below it (strictly below when `strict`). */
  async within(name: string, root: string, strict: boolean): Promise<boolean> {
    if (name === root) return !strict;
    let current = await this.sessions.getStored(name);
    for (let depth = 0; current?.parent && depth < MAX_DEPTH; depth++) {
      if (current.parent === root) return true;
      current = await this.sessions.getStored(current.parent);
    }
    return false;
  }

  /** The sessions the caller may see, or undefined when it may see them all (a person). */
  async visible(principal: Principal): Promise<Set<string> | undefined> {
    if (!isAgent(principal)) return undefined;
    return new Set([principal.name, ...(await this.sessions.descendants(principal.name))]);
  }

  /** The rule for each operation, for an agent's credential. */
  authorize(): Authorize {
    const rules = this.rules();
    return async (operationId, input) => {
      const principal = principalOf(input.ctx);
      if (!isAgent(principal)) return checkRole(principal, operationId as keyof operations);
      await rules[operationId as keyof operations](principal, input as unknown as Input);
    };
  }

  private rules(): Record<keyof operations, (agent: AgentPrincipal, input: Input) => Promise<void> | void> {
    const open = () => undefined;
    /** The session named in the path is the agent's own or a descendant. */
    const ownOrBelow = (what: string) => async (agent: AgentPrincipal, input: Input) => {
      const name = input.path.name!;
      if (!(await this.within(name, agent.name, false)))
        throw outOfScope(
          agent,
          `${what} session '${name}'`,
          'it is neither its own session nor one of its descendants',
        );
    };
    /** The session named in the path is a descendant (not the agent's own). */
    const below = (what: string) => async (agent: AgentPrincipal, input: Input) => {
      const name = input.path.name!;
      if (!(await this.within(name, agent.name, true)))
        throw outOfScope(
          agent,
          `${what} session '${name}'`,
          name === agent.name ? 'it is its own session' : 'it is not one of its descendants',
        );
    };
    const never = (what: string, why: string) => (agent: AgentPrincipal) => {
      throw outOfScope(agent, what, why);
    };
    return {
      getHealth: open,
      getRuntimeInfo: open,
      whoAmI: open,
      // Lists show only the agent's subtree (filtered where they are answered).
      listSessions: open,
      listApprovals: open,
      getUsage: open,
      streamSessionChanges: open,
      createSession: async (agent, input) => {
        // A new session works for the agent (or one of its descendants): its parent is forced there.
        const parent = input.body.parent;
        if (typeof parent !== 'string' || !(await this.within(parent, agent.name, false)))
          input.body.parent = agent.name;
      },
      getSession: ownOrBelow('read'),
      getSessionChanges: ownOrBelow('read the changes of'),
      listSessionCheckpoints: ownOrBelow('read the checkpoints of'),
      mergeSession: below('merge'),
      reviewSession: below('review'),
      mergeChildren: ownOrBelow('merge the children of'),
      createPullRequest: never(
        'open a pull request',
        "a pull request leaves the machine with the person's GitHub token; the person opens it",
      ),
      getMetrics: never('the metrics', 'metrics are for the people who run aof'),
      getSessionStatus: ownOrBelow('read the status of'),
      getSessionResult: ownOrBelow('read the result of'),
      getSessionTree: ownOrBelow('read the tree of'),
      listSessionCallbacks: ownOrBelow('read the callbacks of'),
      listSessionEvents: ownOrBelow('read the events of'),
      streamSessionEvents: ownOrBelow('follow the events of'),
      resumeSession: below('resume'),
      forkSession: below('fork'),
      stopSession: below('stop'),
      deleteSession: below('delete'),
      deleteAllSessions: never('delete every session', 'only a person cleans up'),
      pruneSessions: never('prune sessions', 'only a person cleans up'),
      appendSessionEvents: never('report events', "only the runtime's executors report what agents do"),
      askApproval: async (agent, input) => {
        const name = input.path.name!;
        if (name !== agent.name)
          throw outOfScope(agent, `ask approval for session '${name}'`, 'an agent asks only for its own session');
      },
      getApproval: async (agent, input) => {
        const approval = await this.approvals.get(input.path.id!);
        if (!(await this.within(approval.session, agent.name, false)))
          throw outOfScope(
            agent,
            `read approval request '${approval.id}'`,
            `it belongs to session '${approval.session}', outside its subtree`,
          );
      },
      answerApproval: async (agent, input) => {
        const approval = await this.approvals.get(input.path.id!);
        const what = `answer approval request '${approval.id}' of session '${approval.session}'`;
        if (approval.session === agent.name)
          throw outOfScope(agent, what, 'an agent never answers its own questions; a person (or an ancestor) does');
        if (!(await this.within(approval.session, agent.name, true)))
          throw outOfScope(agent, what, 'that session is not one of its descendants');
        const asker = await this.sessions.getStored(approval.session);
        if (asker?.blueprint?.approval?.ancestors_may_answer !== true)
          throw outOfScope(
            agent,
            what,
            "the session's blueprint lets only a person answer (approval.ancestors_may_answer is not true)",
          );
      },
      listAudit: never('read the audit log', 'the audit log is for the people who run aof'),
      createLoginLink: never('make dashboard login links', 'the dashboard is for people'),
      useLoginLink: open,
      logout: never('sign out of the dashboard', 'the dashboard is for people'),
      listTokens: never("list people's tokens", 'only an admin manages tokens'),
      listSchedules: never('list schedules', 'schedules are for people'),
      getSchedule: never('read a schedule', 'schedules are for people'),
      createSchedule: never('add schedules', 'schedules are for people'),
      deleteSchedule: never('delete schedules', 'schedules are for people'),
      pauseSchedule: never('pause schedules', 'schedules are for people'),
      resumeSchedule: never('resume schedules', 'schedules are for people'),
      fireSchedule: never('fire schedules', 'schedules are for people'),
      listTriggers: never('list triggers', 'triggers are for people'),
      getTrigger: never('read a trigger', 'triggers are for people'),
      createTrigger: never('add triggers', 'triggers are for people'),
      deleteTrigger: never('delete triggers', 'triggers are for people'),
      // Signed by the sender with the trigger's secret, not by a credential.
      deliverTrigger: open,
      createToken: never('make tokens', 'only an admin manages tokens'),
      revokeToken: never('revoke tokens', 'only an admin manages tokens'),
      claimRun: never('claim runs', 'runner endpoints are for runners'),
      heartbeatRunner: never('renew leases', 'runner endpoints are for runners'),
      reportRun: never('report on runs', 'runner endpoints are for runners'),
    };
  }
}
