/**
 * The worktree tools: what a session changed in its own git worktree, merging it (or all of a
 * parent's children, one after the other), a GitHub pull request for it, and review comments sent
 * back to it.
 */
import { z } from 'zod';
import type { AdviceSubject } from '../../sdk/index.js';
import { guarded, ok, ToolFailure } from './format.js';
import { started, waitForOutcome } from './run-outcome.js';
import { defineTool } from './tool.js';
import { asyncFlag, NOTE, outcomeSchema, sessionName, timeoutSeconds } from './tool-schemas.js';

export const getAgentSessionChanges = defineTool({
  name: 'get_agent_session_changes',
  title: "Review a session's changes",
  description:
    "What a session changed in its own git worktree (sessions started with worktree: true), against the commit its branch was made from: its commits, what it left uncommitted and new files. Gives the changed files with lines added and deleted, and the unified patch (cut to fit; ask for one file to see it whole); for a session started with checkpoint: true, also its checkpoint commits, one per run. Use it to review a child's work before merging it with merge_agent_session (or all children with merge_agent_children).",
  inputSchema: z.strictObject({
    name: sessionName('The session whose changes to show (see list_agent_sessions)'),
    file: z.string().min(1).max(4096).optional().describe('Only this changed file (its path in the repository)'),
    stat: z.boolean().optional().describe('The file list and counts only, no patch (default false)'),
  }),
  outputSchema: z.object({
    name: z.string(),
    branch: z.string(),
    base_commit: z.string(),
    uncommitted: z.boolean(),
    files: z.array(
      z.object({
        path: z.string(),
        old_path: z.string().optional(),
        status: z.string(),
        additions: z.number().int(),
        deletions: z.number().int(),
        binary: z.boolean(),
        in_patch: z.string(),
      }),
    ),
    files_total: z.number().int(),
    additions: z.number().int(),
    deletions: z.number().int(),
    patch: z.string().nullable(),
    checkpoints: z
      .array(
        z.object({
          run: z.number().int(),
          commit: z.string(),
          additions: z.number().int(),
          deletions: z.number().int(),
          files: z.array(z.string()),
        }),
      )
      .optional()
      .describe('The checkpoint commits, one per run that changed something (sessions with checkpoint)'),
    note: NOTE,
  }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  handler: (args, { ao, maxChars }) =>
    guarded(
      async () => {
        const [changes, checkpointList] = await Promise.all([
          ao().sessions.diff(args.name, {
            file: args.file,
            stat: args.stat === true,
            maxBytes: Math.max(1024, maxChars),
          }),
          args.file === undefined
            ? ao()
                .sessions.checkpoints(args.name)
                .catch(() => null)
            : null,
        ]);
        const { name } = args;
        const checkpoints = checkpointList?.checkpoints.length
          ? checkpointList.checkpoints.map((c) => ({
              run: c.run,
              commit: c.commit,
              additions: c.additions,
              deletions: c.deletions,
              files: c.files.map((f) => f.path),
            }))
          : undefined;
        const summary = `${changes.files_total} file${changes.files_total === 1 ? '' : 's'} changed, +${changes.additions} -${changes.deletions} on ${changes.branch} against ${changes.base_commit.slice(0, 12)}${changes.uncommitted ? ' (uncommitted work included)' : ''}`;
        const list = changes.files.map(
          (f) =>
            `- ${f.status} ${f.old_path ? `${f.old_path} -> ` : ''}${f.path}: ${f.binary ? 'binary' : `+${f.additions} -${f.deletions}`}`,
        );
        if (checkpoints) {
          const earlier = Math.max(0, checkpoints.length - 20);
          list.push(
            'Checkpoints (one commit per run; git revert one to undo that run):',
            ...(earlier ? [`- (${earlier} earlier not shown)`] : []),
            ...checkpoints
              .slice(earlier)
              .map(
                (c) => `- run ${c.run} ${c.commit.slice(0, 12)}: +${c.additions} -${c.deletions} ${c.files.join(', ')}`,
              ),
          );
        }
        const short = changes.files.filter((f) => f.in_patch === 'cut' || f.in_patch === 'omitted').map((f) => f.path);
        // The patch fits in what the model reads: cut at the character budget left after the list.
        const room = Math.max(0, maxChars - summary.length - list.join('\n').length - 200);
        const patch = changes.patch === null ? null : changes.patch.slice(0, room);
        const cutHere = changes.patch !== null && patch!.length < changes.patch.length;
        const notes = [
          short.length ? `not shown whole: ${short.join(', ')} — ask for one with file` : '',
          cutHere ? 'the patch was cut to fit — ask for one file at a time' : '',
          changes.files_total > changes.files.length
            ? `${changes.files_total - changes.files.length} more files not listed`
            : '',
          changes.files_total ? '' : `Session '${name}' changed nothing yet`,
        ].filter(Boolean);
        const note = notes.length ? notes.join('; ') : null;
        const text = [summary, ...list, ...(patch ? ['', patch] : []), ...(note ? [`… ${note}`] : [])].join('\n');
        return ok(text, {
          name,
          branch: changes.branch,
          base_commit: changes.base_commit,
          uncommitted: changes.uncommitted,
          files: changes.files,
          files_total: changes.files_total,
          additions: changes.additions,
          deletions: changes.deletions,
          patch,
          ...(checkpoints ? { checkpoints } : {}),
          note,
        });
      },
      { session: args.name },
    ),
});

export const mergeAgentSession = defineTool({
  name: 'merge_agent_session',
  title: "Merge a session's changes into a branch",
  description:
    "Merges what a session's own git worktree holds (what it left uncommitted is committed to its branch aof/<name> first) into an existing branch that is not checked out anywhere, without touching anyone's checkout. A conflict is refused with the files named and nothing changed: then resume the session to bring its branch up to date and resolve them, and merge again.",
  inputSchema: z.strictObject({
    name: sessionName('The session whose branch to merge (see list_agent_sessions)'),
    into: z.string().min(1).max(250).describe('The branch to merge into'),
    strategy: z
      .enum(['merge', 'squash', 'rebase'])
      .optional()
      .describe('merge (a merge commit, the default), squash (one commit) or rebase (its commits replayed)'),
    message: z.string().min(1).max(10000).optional().describe('The commit message (merge and squash)'),
    resolve: z
      .boolean()
      .optional()
      .describe(
        'On a conflict, resume the session with it (files and branch named) and merge again when that run ends',
      ),
  }),
  outputSchema: z.object({
    into: z.string(),
    branch: z.string(),
    strategy: z.string(),
    previous_commit: z.string().optional(),
    commit: z.string().optional(),
    commits: z.number().int().optional(),
    resolving: z.boolean().optional(),
    files: z.array(z.string()).optional(),
    run: z.number().int().optional(),
    note: NOTE,
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  handler: (args, { ao }) =>
    guarded(
      async () => {
        const result = await ao().sessions.merge(args.name, {
          into: args.into,
          ...(args.strategy ? { strategy: args.strategy } : {}),
          ...(args.message ? { message: args.message } : {}),
          ...(args.resolve ? { resolve: true as const } : {}),
        });
        if ('resolving' in result)
          return ok(
            `${result.branch} conflicts with ${result.into} in ${result.files.join(', ')}; the session is resumed to resolve it (run ${result.run}) and is merged when that run ends`,
            { ...result, note: null },
          );
        const text = `Merged ${result.branch} into ${result.into} (${result.strategy}): ${result.commits} commit${result.commits === 1 ? '' : 's'}, now at ${result.commit.slice(0, 12)}`;
        return ok(text, { ...result, note: null });
      },
      { session: args.name },
    ),
});

export const mergeAgentChildren = defineTool({
  name: 'merge_agent_children',
  title: "Land a session's children one after the other (a merge queue)",
  description:
    "Merges each child of a session (yours, by default: the children you started with worktree: true) into an existing branch that is not checked out anywhere, one after the other in the order they were started, each rebased on what the ones before it left there, without touching anyone's checkout. A child that conflicts with the ones before it is resumed with its conflict (it rebases and resolves it in its worktree) and lands when that run ends; the queue goes on with the next. Children still running, without a worktree or with nothing to merge are skipped, with the reason. Call it after the children have ended (get_agent_session_result), then follow a resolving child with get_agent_session_result.",
  inputSchema: z.strictObject({
    name: sessionName(
      'The parent session whose children to merge (default: the session this server runs in)',
    ).optional(),
    into: z.string().min(1).max(250).describe('The branch to land them on (an existing local branch)'),
  }),
  outputSchema: z.object({
    into: z.string(),
    children: z.array(
      z.object({
        name: z.string(),
        outcome: z.enum(['merged', 'resolving', 'skipped']),
        commit: z.string().optional(),
        files: z.array(z.string()).optional(),
        run: z.number().int().optional(),
        reason: z.string().optional(),
      }),
    ),
    note: NOTE,
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  handler: (args, { ao }) => {
    const parent = args.name ?? ao().sessions.defaultParent;
    return guarded(
      async () => {
        if (!parent)
          throw new ToolFailure(
            'Name the parent session (name): this server does not run inside a session, so it has no children of its own',
          );
        const queue = await ao().sessions.mergeChildren(parent, { into: args.into });
        if (!queue.children.length) {
          const text = `Session '${parent}' has no children to merge`;
          return ok(text, { ...queue, note: text });
        }
        const lines = queue.children.map((child) =>
          child.outcome === 'merged'
            ? `- ${child.name}: merged into ${queue.into} (now at ${child.commit!.slice(0, 12)})`
            : child.outcome === 'resolving'
              ? `- ${child.name}: conflicts in ${child.files!.join(', ')}; resumed to resolve it (run ${child.run}), lands when that run ends — follow it with get_agent_session_result`
              : `- ${child.name}: skipped — ${child.reason}`,
        );
        const merged = queue.children.filter((c) => c.outcome === 'merged').length;
        const text = [
          `Merge queue into ${queue.into}: ${merged} of ${queue.children.length} landed now`,
          ...lines,
        ].join('\n');
        return ok(text, { ...queue, note: null });
      },
      { session: parent },
    );
  },
});

export const openPullRequest = defineTool({
  name: 'open_pull_request',
  title: "Open a GitHub pull request for a session's changes",
  description:
    "Pushes a session's own git worktree branch aof/<name> (what it left uncommitted is committed first) to a git remote of its repository and opens a GitHub pull request for it, described from the session's result and its task. The runtime does it with its own git credentials and GitHub token; a pull request already open from that branch is returned. Only a person's credential may open one (an agent's is refused).",
  inputSchema: z.strictObject({
    name: sessionName('The session whose branch to propose (see list_agent_sessions)'),
    remote: z.string().min(1).max(250).optional().describe('The git remote on GitHub to push to (default origin)'),
    base: z
      .string()
      .min(1)
      .max(250)
      .optional()
      .describe("The branch the pull request is into (default: the remote's default branch)"),
    title: z.string().min(1).max(256).optional().describe("Default: the first line of the session's task"),
    draft: z.boolean().optional().describe('Open it as a draft'),
  }),
  outputSchema: z.object({
    number: z.number().int(),
    url: z.string(),
    repository: z.string(),
    remote: z.string(),
    head: z.string(),
    base: z.string(),
    commit: z.string(),
    draft: z.boolean(),
    created: z.boolean(),
    note: NOTE,
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  handler: (args, { ao }) =>
    guarded(
      async () => {
        const pr = await ao().sessions.pullRequest(args.name, {
          ...(args.remote ? { remote: args.remote } : {}),
          ...(args.base ? { base: args.base } : {}),
          ...(args.title ? { title: args.title } : {}),
          ...(args.draft ? { draft: true } : {}),
        });
        const text = `${pr.created ? 'Opened' : 'Already open:'} pull request #${pr.number} in ${pr.repository} (${pr.head} into ${pr.base}): ${pr.url}`;
        return ok(text, { ...pr, note: null });
      },
      { session: args.name },
    ),
});

export const reviewAgentSession = defineTool({
  name: 'review_agent_session',
  title: 'Send review comments back to a session',
  description:
    "Sends review comments on lines of a session's own git worktree back to it (after get_agent_session_changes): each line is quoted with its comment in one prompt, and the session is resumed with it, so its next run is the fix. Lines are of the files as they are now. Waits for that run like resume_agent_session, unless async.",
  inputSchema: z.strictObject({
    name: sessionName('The session to review (see list_agent_sessions)'),
    comments: z
      .array(
        z.strictObject({
          file: z.string().min(1).max(4096).describe("The file's path in the repository"),
          line: z.number().int().min(1).describe('A line of the file as it is now, from 1'),
          text: z.string().min(1).max(10000).describe('What to change there'),
        }),
      )
      .min(1)
      .max(200)
      .describe('The comments, each on one line of one file'),
    summary: z.string().min(1).max(20000).optional().describe('A word on the whole review, after the comments'),
    async: asyncFlag,
    timeout_seconds: timeoutSeconds,
  }),
  outputSchema: outcomeSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  handler: (args, context, extra) => {
    const subject: AdviceSubject = { session: args.name, resuming: true };
    return guarded(async () => {
      const session = await context.ao().sessions.review(args.name, {
        comments: args.comments,
        ...(args.summary ? { summary: args.summary } : {}),
      });
      if (args.async) return started(session, 'is working on the review');
      return waitForOutcome(context, session, args.timeout_seconds, extra, subject);
    }, subject);
  },
});
