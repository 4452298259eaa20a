import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type {
  Agent,
  AgentCreate,
  AgentUpdate,
  ApprovalPolicy,
  Limits,
  McpServers,
  PermissionMode,
} from '../../../sdk/types.js';
import { describe } from '../api.js';
import { useAccess, useClient } from '../client-context.js';
import { nameProblem } from '../names.js';
import { go, href } from '../router.js';
import { listPage } from '../sessions-page.js';
import { useSubmit } from '../use-submit.js';
import { Field } from './field.js';

const PERMISSION_MODES: PermissionMode[] = ['default', 'acceptEdits', 'bypassPermissions', 'plan'];
type AgentCli = NonNullable<Agent['cli']>;
type StallAction = NonNullable<Agent['stall_action']>;
/** The agent CLIs a blueprint can name (docs/agent-clis.md says what each supports). */
const CLIS: Array<{ value: AgentCli; label: string }> = [
  { value: 'claude', label: 'Claude Code' },
  { value: 'codex', label: 'Codex CLI' },
  { value: 'gemini', label: 'Gemini CLI' },
  { value: 'opencode', label: 'OpenCode' },
];
const USAGE_SAMPLE = 500;

export function Blueprints({ selected }: { selected: string | undefined }) {
  const { client, guard } = useClient();
  const { mayManage } = useAccess();
  const [agents, setAgents] = useState<Agent[]>();
  const [uses, setUses] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>();
  const [confirming, setConfirming] = useState<string>();

  // Loads overlap (one per visit to the list or a blueprint): only the latest may set what is shown,
  // or a list read before a blueprint was saved could land after it and hide it.
  const loads = useRef(0);
  const load = useCallback(async () => {
    const mine = ++loads.current;
    try {
      const list = await client.agents.list().catch(guard);
      if (mine !== loads.current) return;
      setAgents(list);
      setError(undefined);
      // Which sessions use each blueprint (counted from the filtered list).
      const counts = await Promise.all(
        list.map(async (a) => {
          const page = await listPage(client, { agent: a.name, limit: USAGE_SAMPLE });
          return [a.name, `${page.sessions.length}${page.next_cursor ? '+' : ''}`] as const;
        }),
      );
      if (mine === loads.current) setUses(Object.fromEntries(counts));
    } catch (caught) {
      if (mine === loads.current) setError(describe(caught));
    }
  }, [client, guard]);

  useEffect(() => {
    document.title = 'Blueprints · aof';
    void load();
  }, [load, selected]);

  const act = async (action: () => Promise<unknown>) => {
    try {
      await action();
      setError(undefined);
    } catch (caught) {
      setError(describe(caught));
    }
    setConfirming(undefined);
    await load();
  };

  if (selected) {
    const agent = selected === '+new' ? undefined : agents?.find((a) => a.name === selected);
    if (selected !== '+new' && !agents) return <p>Loading…</p>;
    if (selected !== '+new' && !agent)
      return (
        <section>
          <p class="error" role="alert">
            No blueprint named {selected}.
          </p>
          <a href={href('blueprints')}>All blueprints</a>
        </section>
      );
    // The list shows the blueprint as saved at once, not as it was until the list is read again.
    const saved = (next: Agent) => {
      // In the registry's order (by name), so the row does not move when the list is read again.
      setAgents((list = []) =>
        list.some((a) => a.name === next.name)
          ? list.map((a) => (a.name === next.name ? next : a))
          : [...list, next].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      );
      go('blueprints');
    };
    if (!mayManage)
      return (
        <section>
          <p role="status">Only an admin changes blueprints.</p>
          <a href={href('blueprints')}>All blueprints</a>
        </section>
      );
    // A form of its own for each blueprint: what was typed for one never carries over to another.
    return <BlueprintForm key={selected} agent={agent} onSaved={saved} />;
  }

  return (
    <section aria-labelledby="bp-title">
      <div class="title-row">
        <h1 id="bp-title">Blueprints</h1>
        {mayManage && (
          <a class="button primary" href={href('blueprints', '+new')}>
            New blueprint
          </a>
        )}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {agents && !agents.length && (
        <div class="empty card">
          <p>No blueprints yet. A blueprint is a reusable specialization: system prompt, MCP servers, model, tools.</p>
        </div>
      )}
      <ul class="rows">
        {agents?.map((a) => (
          <li class="row bp" data-blueprint={a.name}>
            <a class="row-main" href={href('blueprints', a.name)}>
              <span class={`badge ${a.status === 'active' ? 'state-running' : 'state-stopped'}`}>{a.status}</span>
              <span class="row-name">{a.name}</span>
              {a.approval && (
                <span class="badge asks" title="Its agents ask a person before each tool use their rules do not settle">
                  asks first
                </span>
              )}
              {a.worktree && (
                <span class="badge" title="Each session works in its own git worktree and branch">
                  worktree
                </span>
              )}
              <span class="row-meta muted">{a.description}</span>
            </a>
            <span class="muted">
              {CLIS.find((c) => c.value === (a.cli ?? 'claude'))?.label} · {a.model ?? 'default model'} ·{' '}
              <a href={href('agent', a.name)}>
                {uses[a.name] ?? '…'} session{uses[a.name] === '1' ? '' : 's'}
              </a>
            </span>
            {mayManage && (
              <span class="buttons">
                <button
                  type="button"
                  onClick={() =>
                    void act(() =>
                      client.agents.setStatus(a.name, a.status === 'active' ? 'inactive' : 'active').catch(guard),
                    )
                  }
                >
                  {a.status === 'active' ? 'Deactivate' : 'Activate'}
                </button>
                {confirming === a.name ? (
                  <span class="confirm" role="group" aria-label="Confirm delete">
                    Delete blueprint <strong>{a.name}</strong>?
                    <button
                      type="button"
                      class="danger"
                      onClick={() => void act(() => client.agents.delete(a.name).catch(guard))}
                    >
                      Delete for good
                    </button>
                    <button type="button" onClick={() => setConfirming(undefined)}>
                      Cancel
                    </button>
                  </span>
                ) : (
                  <button type="button" class="danger" onClick={() => setConfirming(a.name)}>
                    Delete…
                  </button>
                )}
              </span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

const toolList = (text: string) =>
  text
    .split(/[\n,]/)
    .map((t) => t.trim())
    .filter(Boolean);

function BlueprintForm({ agent, onSaved }: { agent: Agent | undefined; onSaved: (saved: Agent) => void }) {
  const { client } = useClient();
  const [form, setForm] = useState({
    name: agent?.name ?? '',
    description: agent?.description ?? '',
    system_prompt: agent?.system_prompt ?? '',
    mcp_servers: agent?.mcp_servers ? JSON.stringify(agent.mcp_servers, null, 2) : '',
    cli: agent?.cli ?? '',
    model: agent?.model ?? '',
    permission_mode: agent?.permission_mode ?? '',
    allowed_tools: (agent?.allowed_tools ?? []).join(', '),
    disallowed_tools: (agent?.disallowed_tools ?? []).join(', '),
    approval: Boolean(agent?.approval),
    approval_timeout: String(agent?.approval?.timeout_seconds ?? ''),
    approval_on_timeout: agent?.approval?.on_timeout ?? '',
    approval_message: agent?.approval?.timeout_message ?? '',
    worktree: agent?.worktree ?? false,
    checkpoint: agent?.checkpoint ?? false,
    output_schema: agent?.output_schema ? JSON.stringify(agent.output_schema, null, 2) : '',
    max_cost_usd: String(agent?.limits?.max_cost_usd ?? ''),
    max_tokens: String(agent?.limits?.max_tokens ?? ''),
    max_turns: String(agent?.limits?.max_turns ?? ''),
    timeout_seconds: String(agent?.limits?.timeout_seconds ?? ''),
    inherit: agent?.limits?.inherit ?? false,
    warm: String(agent?.warm ?? ''),
    warm_after_run: String(agent?.warm_after_run ?? ''),
    no_resume_after_limit: agent?.resume_after_limit === false,
    stall_after_seconds: String(agent?.stall_after_seconds ?? ''),
    stall_action: agent?.stall_action ?? '',
  });
  const { submit: send, errors, setErrors, message, busy } = useSubmit();
  const set = (key: keyof typeof form) => (e: { currentTarget: { value: string } }) => {
    const value = e.currentTarget.value;
    setForm((f) => ({ ...f, [key]: value }));
  };
  const check =
    (key: 'approval' | 'worktree' | 'checkpoint' | 'inherit' | 'no_resume_after_limit') =>
    (e: { currentTarget: { checked: boolean } }) => {
      const checked = e.currentTarget.checked;
      setForm((f) => ({ ...f, [key]: checked }));
    };

  const submit = async (event: Event) => {
    event.preventDefault();
    const badName = agent ? undefined : nameProblem(form.name.trim());
    if (badName) {
      setErrors({ name: badName });
      return;
    }
    let outputSchema: Record<string, unknown> | undefined;
    if (form.output_schema.trim()) {
      try {
        outputSchema = JSON.parse(form.output_schema) as Record<string, unknown>;
      } catch (caught) {
        setErrors({ output_schema: `Output schema is not valid JSON: ${(caught as Error).message}` });
        return;
      }
    }
    const number = (text: string) => (text.trim() ? Number(text) : undefined);
    const limits: Limits = {};
    for (const key of ['max_cost_usd', 'max_tokens', 'max_turns', 'timeout_seconds'] as const) {
      const value = number(form[key]);
      if (value !== undefined) limits[key] = value;
    }
    if (form.inherit) limits.inherit = true;
    const approval: ApprovalPolicy | undefined = form.approval
      ? {
          ...(number(form.approval_timeout) !== undefined ? { timeout_seconds: number(form.approval_timeout)! } : {}),
          ...(form.approval_on_timeout ? { on_timeout: form.approval_on_timeout as 'deny' | 'allow' } : {}),
          ...(form.approval_message.trim() ? { timeout_message: form.approval_message.trim() } : {}),
        }
      : undefined;
    let mcp: McpServers | undefined;
    if (form.mcp_servers.trim()) {
      try {
        mcp = JSON.parse(form.mcp_servers) as McpServers;
      } catch (caught) {
        setErrors({ mcp_servers: `mcp_servers is not valid JSON: ${(caught as Error).message}` });
        return;
      }
    }
    const optional = {
      system_prompt: form.system_prompt || undefined,
      mcp_servers: mcp,
      cli: (form.cli || undefined) as AgentCli | undefined,
      model: form.model.trim() || undefined,
      permission_mode: (form.permission_mode || undefined) as PermissionMode | undefined,
      allowed_tools: form.allowed_tools.trim() ? toolList(form.allowed_tools) : undefined,
      disallowed_tools: form.disallowed_tools.trim() ? toolList(form.disallowed_tools) : undefined,
      approval,
      worktree: form.worktree || undefined,
      checkpoint: form.checkpoint || undefined,
      output_schema: outputSchema,
      limits: Object.keys(limits).length ? limits : undefined,
      warm: number(form.warm) || undefined,
      warm_after_run: number(form.warm_after_run) || undefined,
      resume_after_limit: form.no_resume_after_limit ? false : undefined,
      stall_after_seconds: number(form.stall_after_seconds),
      stall_action: (form.stall_action || undefined) as StallAction | undefined,
    };
    let saved: Agent | undefined;
    const ok = await send(async () => {
      if (agent) {
        // An emptied field removes the setting (JSON merge: null).
        const changes: AgentUpdate = { description: form.description };
        for (const [key, value] of Object.entries(optional)) (changes as Record<string, unknown>)[key] = value ?? null;
        saved = await client.agents.update(agent.name, changes);
      } else {
        const create: AgentCreate = { name: form.name.trim(), description: form.description };
        for (const [key, value] of Object.entries(optional))
          if (value !== undefined) (create as Record<string, unknown>)[key] = value;
        saved = await client.agents.create(create);
      }
    });
    if (ok && saved) onSaved(saved);
  };

  return (
    <section aria-labelledby="bp-form-title">
      <h1 id="bp-form-title">{agent ? `Blueprint ${agent.name}` : 'New blueprint'}</h1>
      <form class="card form" onSubmit={submit} noValidate>
        {!agent && (
          <Field id="bp-name" label="Name" error={errors.name}>
            <input id="bp-name" name="name" value={form.name} onInput={set('name')} autoComplete="off" required />
          </Field>
        )}
        <Field id="bp-description" label="Description" error={errors.description}>
          <input id="bp-description" name="description" value={form.description} onInput={set('description')} />
        </Field>
        <Field id="bp-system_prompt" label="System prompt" error={errors.system_prompt}>
          <textarea
            id="bp-system_prompt"
            name="system_prompt"
            rows={6}
            value={form.system_prompt}
            onInput={set('system_prompt')}
          />
        </Field>
        <Field id="bp-mcp_servers" label="MCP servers (JSON, as Claude Code's mcpServers)" error={errors.mcp_servers}>
          <textarea
            id="bp-mcp_servers"
            name="mcp_servers"
            class="mono"
            rows={5}
            value={form.mcp_servers}
            onInput={set('mcp_servers')}
            placeholder='{ "files": { "command": "npx", "args": ["-y", "some-mcp-server"] } }'
          />
        </Field>
        <Field
          id="bp-cli"
          label="Agent CLI"
          error={errors.cli}
          hint="The CLI that runs its sessions; settings it cannot honour are refused"
        >
          <select id="bp-cli" name="cli" value={form.cli} onChange={set('cli')}>
            <option value="">Claude Code (the default)</option>
            {CLIS.filter((c) => c.value !== 'claude').map((c) => (
              <option value={c.value}>{c.label}</option>
            ))}
          </select>
        </Field>
        <div class="grid2">
          <Field id="bp-model" label="Model" error={errors.model}>
            <input id="bp-model" name="model" value={form.model} onInput={set('model')} placeholder="default" />
          </Field>
          <Field id="bp-permission_mode" label="Permission mode" error={errors.permission_mode}>
            <select
              id="bp-permission_mode"
              name="permission_mode"
              value={form.permission_mode}
              onChange={set('permission_mode')}
            >
              <option value="">the runtime's default</option>
              {PERMISSION_MODES.map((m) => (
                <option value={m}>{m}</option>
              ))}
            </select>
          </Field>
        </div>
        <div class="grid2">
          <Field
            id="bp-allowed_tools"
            label="Allowed tools"
            error={errors.allowed_tools}
            hint="Comma or newline separated"
          >
            <textarea
              id="bp-allowed_tools"
              name="allowed_tools"
              rows={2}
              value={form.allowed_tools}
              onInput={set('allowed_tools')}
              placeholder="Read, Grep"
            />
          </Field>
          <Field id="bp-disallowed_tools" label="Disallowed tools" error={errors.disallowed_tools}>
            <textarea
              id="bp-disallowed_tools"
              name="disallowed_tools"
              rows={2}
              value={form.disallowed_tools}
              onInput={set('disallowed_tools')}
              placeholder="Bash"
            />
          </Field>
        </div>
        <fieldset class="group">
          <legend>Approval</legend>
          <label class="check">
            <input id="bp-approval" type="checkbox" checked={form.approval} onChange={check('approval')} /> Ask a person
            before each tool use the rules above do not settle (approval mode)
          </label>
          {errors.approval && (
            <p class="field-error" role="alert" data-field="bp-approval">
              {errors.approval}
            </p>
          )}
          {form.approval && (
            <div class="grid3">
              <Field id="bp-approval_timeout" label="Wait for an answer (seconds)" error={undefined} hint="Empty: 600">
                <input
                  id="bp-approval_timeout"
                  type="number"
                  min="1"
                  value={form.approval_timeout}
                  onInput={set('approval_timeout')}
                />
              </Field>
              <Field id="bp-approval_on_timeout" label="Unanswered at the timeout" error={undefined}>
                <select
                  id="bp-approval_on_timeout"
                  value={form.approval_on_timeout}
                  onChange={set('approval_on_timeout')}
                >
                  <option value="">deny (the default)</option>
                  <option value="deny">deny</option>
                  <option value="allow">allow</option>
                </select>
              </Field>
              <Field id="bp-approval_message" label="What the agent is told at the timeout" error={undefined}>
                <input id="bp-approval_message" value={form.approval_message} onInput={set('approval_message')} />
              </Field>
            </div>
          )}
        </fieldset>
        <fieldset class="group">
          <legend>Limits</legend>
          <div class="grid4">
            <Field id="bp-max_cost_usd" label="Max cost (USD)" error={undefined}>
              <input
                id="bp-max_cost_usd"
                type="number"
                step="any"
                min="0"
                value={form.max_cost_usd}
                onInput={set('max_cost_usd')}
                placeholder="none"
              />
            </Field>
            <Field id="bp-max_tokens" label="Max tokens" error={undefined}>
              <input
                id="bp-max_tokens"
                type="number"
                min="1"
                value={form.max_tokens}
                onInput={set('max_tokens')}
                placeholder="none"
              />
            </Field>
            <Field id="bp-max_turns" label="Max turns per run" error={undefined}>
              <input
                id="bp-max_turns"
                type="number"
                min="1"
                value={form.max_turns}
                onInput={set('max_turns')}
                placeholder="none"
              />
            </Field>
            <Field id="bp-timeout_seconds" label="Time limit per run (seconds)" error={undefined}>
              <input
                id="bp-timeout_seconds"
                type="number"
                min="1"
                value={form.timeout_seconds}
                onInput={set('timeout_seconds')}
                placeholder="none"
              />
            </Field>
          </div>
          <label class="check">
            <input id="bp-inherit" type="checkbox" checked={form.inherit} onChange={check('inherit')} /> Sessions its
            agents start get these limits unless they set their own
          </label>
          {errors.limits && (
            <p class="field-error" role="alert" data-field="bp-limits">
              {errors.limits}
            </p>
          )}
        </fieldset>
        <fieldset class="group">
          <legend>Warm start</legend>
          <div class="grid4">
            <Field id="bp-warm" label="Processes started ahead for new sessions" error={errors.warm}>
              <input
                id="bp-warm"
                type="number"
                min="0"
                max="16"
                value={form.warm}
                onInput={set('warm')}
                placeholder="0"
              />
            </Field>
            <Field
              id="bp-warm_after_run"
              label="Keep one for a follow-up (seconds after a run)"
              error={errors.warm_after_run}
            >
              <input
                id="bp-warm_after_run"
                type="number"
                min="0"
                max="3600"
                value={form.warm_after_run}
                onInput={set('warm_after_run')}
                placeholder="0"
              />
            </Field>
          </div>
        </fieldset>
        <fieldset class="group">
          <legend>Usage limit and stalls</legend>
          <label class="check">
            <input
              id="bp-no_resume_after_limit"
              type="checkbox"
              checked={form.no_resume_after_limit}
              onChange={check('no_resume_after_limit')}
            />{' '}
            Leave a session stopped when it hits the account's usage limit (by default the runtime resumes it after the
            reset)
          </label>
          <div class="grid4">
            <Field
              id="bp-stall_after_seconds"
              label="Stalled after (seconds without an event)"
              error={errors.stall_after_seconds}
            >
              <input
                id="bp-stall_after_seconds"
                type="number"
                min="1"
                max="604800"
                value={form.stall_after_seconds}
                onInput={set('stall_after_seconds')}
                placeholder="no watchdog"
              />
            </Field>
            <Field id="bp-stall_action" label="Then" error={errors.stall_action}>
              <select id="bp-stall_action" value={form.stall_action} onChange={set('stall_action')}>
                <option value="">notify (a stalled event; it goes on)</option>
                <option value="nudge">nudge (stop it, resume with a status question)</option>
                <option value="stop">stop it</option>
              </select>
            </Field>
          </div>
        </fieldset>
        <label class="check">
          <input id="bp-worktree" type="checkbox" checked={form.worktree} onChange={check('worktree')} /> Each session
          works in its own git worktree, on the branch <code>aof/&lt;session&gt;</code>
        </label>
        <label class="check">
          <input id="bp-checkpoint" type="checkbox" checked={form.checkpoint} onChange={check('checkpoint')} /> Each run
          of a worktree session ends in a checkpoint commit on its branch (one revertible commit per run)
        </label>
        <Field
          id="bp-output_schema"
          label="Output schema (JSON Schema the final answer must match)"
          error={errors.output_schema}
        >
          <textarea
            id="bp-output_schema"
            name="output_schema"
            class="mono"
            rows={4}
            value={form.output_schema}
            onInput={set('output_schema')}
            placeholder='{ "type": "object", "required": ["ok"], "properties": { "ok": { "type": "boolean" } } }'
          />
        </Field>
        {(message || errors.body) && (
          <p class="error" role="alert">
            {message ?? errors.body}
          </p>
        )}
        <div class="buttons">
          <button type="submit" class="primary" disabled={busy}>
            {agent ? 'Save' : 'Create blueprint'}
          </button>
          <a class="button" href={href('blueprints')}>
            Cancel
          </a>
        </div>
      </form>
    </section>
  );
}
