import { useEffect, useState } from 'preact/hooks';
import type { Agent } from '../../../sdk/types.js';
import { describe } from '../api.js';
import { useClient } from '../client-context.js';
import { go } from '../router.js';
import { useSubmit } from '../use-submit.js';
import { Field } from './field.js';

export function NewSession() {
  const { client } = useClient();
  const [agents, setAgents] = useState<Agent[]>([]);
  const [form, setForm] = useState({ name: '', agent: '', project_dir: '', prompt: '' });
  const [loadError, setLoadError] = useState<string>();
  const { submit: send, errors, message, busy } = useSubmit();

  useEffect(() => {
    document.title = 'New session · aof';
    client.agents
      .list({ status: 'active' })
      .then(setAgents, (caught) => setLoadError(`Blueprints: ${describe(caught)}`));
  }, [client]);

  const set = (key: keyof typeof form) => (value: string) => setForm((f) => ({ ...f, [key]: value }));

  const submit = async (event: Event) => {
    event.preventDefault();
    let created = '';
    const ok = await send(async () => {
      created = (
        await client.sessions.create({
          name: form.name.trim(),
          prompt: form.prompt,
          ...(form.agent ? { agent: form.agent } : {}),
          ...(form.project_dir.trim() ? { project_dir: form.project_dir.trim() } : {}),
        })
      ).name;
    });
    if (ok) go('sessions', created);
  };

  return (
    <section aria-labelledby="new-title">
      <h1 id="new-title">New session</h1>
      <form class="card form" onSubmit={submit} noValidate>
        <Field id="name" label="Name" error={errors.name} hint="Letters, digits, dot, dash, underscore">
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
          hint="An absolute path; empty: the runtime's default"
        >
          <input
            id="project_dir"
            name="project_dir"
            value={form.project_dir}
            onInput={(e) => set('project_dir')(e.currentTarget.value)}
            placeholder="/home/me/src/app"
          />
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
