import { useEffect, useState } from 'preact/hooks';
import type { Agent } from '../../../sdk/types.js';
import { describe } from '../api.js';
import { useClient } from '../client-context.js';
import { go } from '../router.js';
import { NAME_RULE, nameProblem } from '../names.js';
import { listPage } from '../sessions-page.js';
import { useSubmit } from '../use-submit.js';
import { Field } from './field.js';

export function NewSession() {
  const { client } = useClient();
  const [agents, setAgents] = useState<Agent[]>([]);
  const [form, setForm] = useState({ name: '', agent: '', project_dir: '', prompt: '' });
  const [loadError, setLoadError] = useState<string>();
  const [recentDirs, setRecentDirs] = useState<string[]>([]);
  const { submit: send, errors, setErrors, message, busy } = useSubmit();

  useEffect(() => {
    document.title = 'New session · aof';
    client.agents
      .list({ status: 'active' })
      .then(setAgents, (caught) => setLoadError(`Blueprints: ${describe(caught)}`));
    // The project dirs of recent sessions, offered as choices (the newest first).
    listPage(client, { limit: 100 }).then(
      (page) => setRecentDirs([...new Set(page.sessions.map((s) => s.project_dir))]),
      () => setRecentDirs([]),
    );
  }, [client]);

  const set = (key: keyof typeof form) => (value: string) => setForm((f) => ({ ...f, [key]: value }));

  const submit = async (event: Event) => {
    event.preventDefault();
    // Checked here first, in words: the same rule the runtime applies (from the contract).
    const problems: Record<string, string> = {};
    const badName = nameProblem(form.name.trim());
    if (badName) problems.name = badName;
    if (!form.project_dir.trim())
      problems.project_dir = 'Say where the agent works (an absolute path): it can read and change the files there.';
    if (!form.prompt.trim()) problems.prompt = 'Say what the agent should do.';
    if (Object.keys(problems).length) {
      setErrors(problems);
      return;
    }
    let created = '';
    const ok = await send(async () => {
      created = (
        await client.sessions.create({
          name: form.name.trim(),
          prompt: form.prompt,
          ...(form.agent ? { agent: form.agent } : {}),
          project_dir: form.project_dir.trim(),
        })
      ).name;
    });
    if (ok) go('sessions', created);
  };

  return (
    <section aria-labelledby="new-title">
      <h1 id="new-title">New session</h1>
      <form class="card form" onSubmit={submit} noValidate>
        <Field id="name" label="Name" error={errors.name} hint={NAME_RULE.words}>
          <input
            id="name"
            name="name"
            required
            value={form.name}
            onInput={(e) => set('name')(e.currentTarget.value)}
            autoComplete="off"
          />
        </Field>
        <Field id="agent" label="Blueprint" error={errors.agent}>
          <select id="agent" name="agent" value={form.agent} onChange={(e) => set('agent')(e.currentTarget.value)}>
            <option value="">none (plain Claude Code)</option>
            {agents.map((a) => (
              <option value={a.name}>
                {a.name}
                {a.description ? ` · ${a.description.slice(0, 60)}` : ''}
              </option>
            ))}
          </select>
        </Field>
        <Field
          id="project_dir"
          label="Project dir"
          error={errors.project_dir}
          hint="Where the agent works: an absolute path on the runtime's machine. It can read and change the files there."
        >
          <input
            id="project_dir"
            name="project_dir"
            required
            list="recent-project-dirs"
            value={form.project_dir}
            onInput={(e) => set('project_dir')(e.currentTarget.value)}
            placeholder="/home/me/src/app"
            autoComplete="off"
          />
          <datalist id="recent-project-dirs">
            {recentDirs.map((dir) => (
              <option value={dir} />
            ))}
          </datalist>
        </Field>
        <Field id="prompt" label="Prompt" error={errors.prompt}>
          <textarea
            id="prompt"
            name="prompt"
            rows={5}
            required
            value={form.prompt}
            onInput={(e) => set('prompt')(e.currentTarget.value)}
          />
        </Field>
        {(message || errors.body || loadError) && (
          <p class="error" role="alert">
            {message ?? errors.body ?? loadError}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          Start session
        </button>
      </form>
    </section>
  );
}
