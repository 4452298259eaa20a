/**
 * Friendly names for the schemas of the two APIs. Everything here is derived from the generated
 * types (`npm run gen` from openapi/*.yaml), so the SDK cannot drift from the contract.
 */
import type { components as RegistryComponents } from './generated/registry.js';
import type { components as RuntimeComponents } from './generated/runtime.js';

type RegistrySchemas = RegistryComponents['schemas'];
type RuntimeSchemas = RuntimeComponents['schemas'];

/* ---------- Agent Registry ---------- */

export type Agent = RegistrySchemas['Agent'];
export type AgentCreate = RegistrySchemas['AgentCreate'];
/** Fields to change; `null` removes an optional field. */
export type AgentUpdate = RegistrySchemas['AgentUpdate'];
export type AgentStatus = RegistrySchemas['AgentStatus'];
export type McpServers = RegistrySchemas['McpServers'];
export type McpServer = RegistrySchemas['McpServer'];
export type McpStdioServer = RegistrySchemas['McpStdioServer'];
export type McpHttpServer = RegistrySchemas['McpHttpServer'];
export type PermissionMode = RegistrySchemas['PermissionMode'];

/* ---------- Both servers ---------- */

export type Health = RegistrySchemas['Health'];
/** An RFC 9457 problem, the body of every error response. */
export type Problem = RegistrySchemas['Problem'];
export type FieldError = NonNullable<Problem['errors']>[number];
/** What went wrong, as `ApiError.code` gives it: the `<code>` of a problem's `urn:aof:problem:<code>` type. */
export type ProblemCode = RegistrySchemas['ProblemCode'];

/* ---------- Agent Runtime ---------- */

export type Session = RuntimeSchemas['Session'];
/** A session in a list: no prompts, results or blueprint (`sessions.get()` has those). */
export type SessionSummary = RuntimeSchemas['SessionSummary'];
/** One page of `sessions.list()`; follow `next_cursor` (or use `sessions.iterate()`). */
export type SessionPage = RuntimeSchemas['SessionPage'];
export type RunSummary = RuntimeSchemas['RunSummary'];
/** How many sessions are in each state. */
export type StateCounts = RuntimeSchemas['StateCounts'];
export type SessionCreate = RuntimeSchemas['SessionCreate'];
export type RunCreate = RuntimeSchemas['RunCreate'];
export type ForkCreate = RuntimeSchemas['ForkCreate'];
export type ForkOrigin = RuntimeSchemas['ForkOrigin'];
export type Run = RuntimeSchemas['Run'];
export type RunState = RuntimeSchemas['RunState'];
export type Totals = RuntimeSchemas['Totals'];
export type Blueprint = RuntimeSchemas['Blueprint'];
export type Usage = RuntimeSchemas['Usage'];
export type Limits = RuntimeSchemas['Limits'];
export type SessionTree = RuntimeSchemas['SessionTree'];
export type Callback = RuntimeSchemas['Callback'];
/** The body of a webhook call (see docs/teams.md for its headers and signature). */
export type WebhookPayload = RuntimeSchemas['WebhookPayload'];
/** `GET /usage`: per session, per agent, per day, and totals. */
export type UsageReport = RuntimeSchemas['UsageReport'];
export type SessionStatus = RuntimeSchemas['SessionStatus'];
export type SessionResult = RuntimeSchemas['SessionResult'];
export type SessionChange = RuntimeSchemas['SessionChange'];
export type RuntimeInfo = RuntimeSchemas['RuntimeInfo'];
export type EventPage = RuntimeSchemas['EventPage'];
/** A stored event as the server sends it; `data` is untyped here, see {@link SessionEvent}. */
export type Event = RuntimeSchemas['Event'];
/** An event to record with `sessions.appendEvents()`. */
export type EventInput = RuntimeSchemas['EventInput'];
export type EventType = RuntimeSchemas['EventType'];

export type SessionStartData = RuntimeSchemas['SessionStartData'];
export type MessageData = RuntimeSchemas['MessageData'];
export type PreToolData = RuntimeSchemas['PreToolData'];
export type PostToolData = RuntimeSchemas['PostToolData'];
export type ResultData = RuntimeSchemas['ResultData'];
export type SessionStopData = RuntimeSchemas['SessionStopData'];
export type ApprovalRequestData = RuntimeSchemas['ApprovalRequestData'];
export type ApprovalAnswerData = RuntimeSchemas['ApprovalAnswerData'];
export type WorktreeSetupData = RuntimeSchemas['WorktreeSetupData'];
export type OutputRetryData = RuntimeSchemas['OutputRetryData'];
export type StalledData = RuntimeSchemas['StalledData'];
export type UsageLimit = RuntimeSchemas['UsageLimit'];
/** A line of an agent CLI's stream aof has no shape for, kept as it came. */
export type RawData = RuntimeSchemas['RawData'];

/** What a session changed in its worktree (`sessions.changes()`), and one changed file. */
export type Changes = RuntimeSchemas['Changes'];
export type ChangedFile = RuntimeSchemas['ChangedFile'];
/** `sessions.checkpoints()`: the commits made at the end of each run of a session with `checkpoint`. */
export type CheckpointList = RuntimeSchemas['CheckpointList'];
export type Checkpoint = RuntimeSchemas['Checkpoint'];
/** `sessions.merge()`: what to merge into, how, and what it did. */
export type MergeRequest = RuntimeSchemas['MergeRequest'];
export type MergeResult = RuntimeSchemas['MergeResult'];
/** `sessions.mergeChildren()`: a parent's children merged in order, and what happened to each. */
export type MergeChildrenRequest = RuntimeSchemas['MergeChildrenRequest'];
export type MergeQueueResult = RuntimeSchemas['MergeQueueResult'];
export type MergeQueueEntry = RuntimeSchemas['MergeQueueEntry'];
/** `sessions.merge()` with `resolve`: the conflict went back to the session, in the run named. */
export type MergeResolving = RuntimeSchemas['MergeResolving'];
/** `sessions.pullRequest()`: where to push and what to open; the pull request opened (or found open). */
export type PullRequestRequest = RuntimeSchemas['PullRequestRequest'];
export type PullRequest = RuntimeSchemas['PullRequest'];
/** `sessions.review()`: comments on lines of a session's worktree, sent back to it as its next run. */
export type ReviewRequest = RuntimeSchemas['ReviewRequest'];
export type ReviewComment = RuntimeSchemas['ReviewComment'];
/** A command run in each new worktree of a blueprint's sessions before their first run. */
export type WorktreeSetup = RegistrySchemas['WorktreeSetup'];

/** A question an agent in approval mode asks before using a tool, and its answer. */
export type Approval = RuntimeSchemas['Approval'];
/** Who made a request, or did something: a person (token name, role), an agent (its session, run) or a runner. */
export type Principal = RuntimeSchemas['Principal'];
export type ApprovalState = RuntimeSchemas['ApprovalState'];
export type ApprovalAsk = RuntimeSchemas['ApprovalAsk'];
export type ApprovalAnswer = RuntimeSchemas['ApprovalAnswer'];
export type ApprovalPolicy = RegistrySchemas['ApprovalPolicy'];

/** The `data` schema of each event type. */
export interface SessionEventDataMap {
  session_start: SessionStartData;
  message: MessageData;
  pre_tool: PreToolData;
  post_tool: PostToolData;
  result: ResultData;
  session_stop: SessionStopData;
  approval_request: ApprovalRequestData;
  approval_answer: ApprovalAnswerData;
  worktree_setup: WorktreeSetupData;
  output_retry: OutputRetryData;
  stalled: StalledData;
  raw: RawData;
}

/**
 * A stored event whose `data` is typed by its `type`:
 * `if (event.type === 'message') event.data.text`.
 */
export type SessionEvent = {
  [T in EventType]: Omit<Event, 'type' | 'data'> & { type: T; data: SessionEventDataMap[T] };
}[EventType];

/** The states in which a run has ended; `sessions.result()` answers only then. */
export type FinalRunState = SessionResult['state'];
