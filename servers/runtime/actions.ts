/**
 * Each operation of the runtime's contract in a person's words (`start sessions`), for refusals
 * ("val (viewer) may not start sessions") and the audit log's `action`. Every operation is listed
 * (the compiler checks it), so a new one is named where people read about it.
 */
import type { operations } from '../../sdk/generated/runtime.js';

export const ACTIONS: Record<keyof operations, string> = {
  getHealth: 'check health',
  getMetrics: 'read the metrics',
  getRuntimeInfo: "read the runtime's state",
  whoAmI: 'ask who it is',
  listTokens: "list people's tokens",
  createToken: 'make tokens',
  revokeToken: 'revoke tokens',
  listAudit: 'read the audit log',
  createLoginLink: 'make dashboard login links',
  useLoginLink: 'sign in to the dashboard',
  logout: 'sign out of the dashboard',
  listSessions: 'list sessions',
  createSession: 'start sessions',
  deleteAllSessions: 'delete every session',
  pruneSessions: 'prune sessions',
  getSession: 'read sessions',
  deleteSession: 'delete sessions',
  getSessionStatus: "read sessions' status",
  getSessionResult: "read sessions' results",
  resumeSession: 'resume sessions',
  forkSession: 'fork sessions',
  stopSession: 'stop sessions',
  getSessionTree: "read sessions' trees",
  getSessionChanges: "read sessions' changes",
  mergeSession: "merge sessions' changes",
  reviewSession: 'send reviews to sessions',
  listSessionCallbacks: "read sessions' callbacks",
  listSessionEvents: "read sessions' events",
  appendSessionEvents: 'report events',
  streamSessionEvents: "follow sessions' events",
  askApproval: 'ask for approval',
  listApprovals: 'list approval requests',
  getApproval: 'read approval requests',
  answerApproval: 'answer approval requests',
  streamSessionChanges: 'follow session changes',
  getUsage: 'read usage',
  claimRun: 'claim runs',
  heartbeatRunner: 'renew leases',
  reportRun: 'report on runs',
  listSchedules: 'list schedules',
  createSchedule: 'make schedules',
  getSchedule: 'read schedules',
  deleteSchedule: 'delete schedules',
  pauseSchedule: 'pause schedules',
  resumeSchedule: 'resume schedules',
  fireSchedule: 'fire schedules',
  listTriggers: 'list triggers',
  createTrigger: 'make triggers',
  deliverTrigger: 'send events to triggers',
  getTrigger: 'read triggers',
  deleteTrigger: 'delete triggers',
};

/** The words for `operationId` (the operationId itself for one this contract does not have). */
export const actionOf = (operationId: string): string => ACTIONS[operationId as keyof operations] ?? operationId;
