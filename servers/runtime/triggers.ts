/**
 * Triggers: a signed event POSTed to `/triggers/{name}` starts a session from a blueprint, or resumes
 * the session owning the branch the payload names. The signature is checked against the raw body
 * before anything is recorded; a delivery id is done once (a redelivery answers what it did); the
 * secret never leaves the store (not in answers, logs or events).
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { components } from '../../sdk/generated/runtime.js';
import { isValidName } from '../../sdk/generated/rules.js';
import { conflict, HttpProblem, notFound, unprocessable } from '../common/contract/problem.js';
import { fillTemplate, timeParts } from './schedule-rules.js';
import type { SessionService } from './session-service.js';
import type { StoredDelivery, StoredTrigger, TriggerCreate, TriggerStore } from './store/trigger-store.js';
import { compileFilter, signatureMatches, sessionOfBranch, textOf, valueAt } from './trigger-rules.js';

export type Trigger = components['schemas']['Trigger'];
export type TriggerDelivery = components['schemas']['TriggerDelivery'];

const RECENT_DELIVERIES = 50;
const DEFAULT_NAME_TEMPLATE = '{trigger}-{stamp}';

/** The headers a sender signs with and names its delivery by, per kind of signature. */
const HEADERS = {
  github: { signature: 'x-hub-signature-256', delivery: 'x-github-delivery' },
  aof: { signature: 'x-aof-signature', delivery: 'x-aof-delivery' },
} as const;

export class Triggers {
  constructor(
    private readonly store: TriggerStore,
    private readonly sessions: SessionService,
    private readonly checkAgent?: (name: string) => Promise<void>,
  ) {}

  async create(input: TriggerCreate): Promise<Trigger> {
    const { name, ...spec } = input;
    if (spec.filter !== undefined) {
      try {
        compileFilter(spec.filter);
      } catch (error) {
        throw unprocessable('body.filter', `not an expression: ${(error as Error).message.split('\n')[0]}`);
      }
    }
    if (spec.resume_branch !== undefined) {
      for (const field of ['agent', 'session_name', 'project_dir', 'worktree'] as const)
        if (spec[field] !== undefined)
          throw unprocessable(`body.${field}`, 'goes with a new session per event, not with resume_branch');
    } else {
      const sample = fillTemplate(spec.session_name ?? DEFAULT_NAME_TEMPLATE, {
        trigger: name,
        delivery: 'x',
        ...timeParts(Date.now(), undefined),
      });
      if (!isValidName(sample)) throw unprocessable('body.session_name', `makes '${sample}', not a valid session name`);
      if (spec.project_dir !== undefined) {
        const dir = spec.project_dir;
        const ok =
          isAbsolute(dir) &&
          (await stat(dir).then(
            (s) => s.isDirectory(),
            () => false,
          ));
        if (!ok)
          throw unprocessable(
            'body.project_dir',
            `'${dir}' is not an absolute path of an existing directory`,
            'project-dir-invalid',
          );
      }
      if (spec.agent !== undefined) await this.checkAgent?.(spec.agent);
    }
    const stored: StoredTrigger = { name, spec, created_at: Date.now(), deliveries: 0 };
    if (!(await this.store.insert(stored)))
      throw conflict(`Trigger '${name}' already exists; delete it first or choose another name`, 'trigger-exists');
    return view(stored);
  }

  async list(): Promise<Trigger[]> {
    return (await this.store.list()).map(view);
  }

  async get(name: string): Promise<{ trigger: Trigger; deliveries: TriggerDelivery[] }> {
    const trigger = await this.require(name);
    return {
      trigger: view(trigger),
      deliveries: (await this.store.deliveries(name, RECENT_DELIVERIES)).map(deliveryView),
    };
  }

  async delete(name: string): Promise<void> {
    if (!(await this.store.remove(name))) throw missing(name);
  }

  /** An event: checked, recorded once per delivery id, filtered, then a session started or resumed. */
  async deliver(
    name: string,
    raw: string,
    payload: unknown,
    header: (name: string) => string,
  ): Promise<{ duplicate: boolean; delivery: TriggerDelivery }> {
    const trigger = await this.require(name);
    const { spec } = trigger;
    const headers = HEADERS[spec.signature ?? 'github'];
    if (!signatureMatches(spec.secret, raw, header(headers.signature) || undefined)) {
      throw new HttpProblem(401, `The event's ${headers.signature} is missing or does not match the trigger's secret`, {
        code: 'unauthorized',
        errors: [{ field: `header.${headers.signature}`, message: 'is missing or wrong' }],
      });
    }
    const id = header(headers.delivery) || createHash('sha256').update(raw).digest('hex');
    const received: StoredDelivery = {
      id: id.slice(0, 200),
      trigger: name,
      received_at: Date.now(),
      outcome: 'received',
      session: null,
      reason: null,
    };
    const kept = await this.store.receive(received);
    if (kept) return { duplicate: true, delivery: deliveryView(kept) };
    const done = await this.act(trigger, received, payload);
    await this.store.settle(name, received.id, done.outcome, done.session, done.reason);
    return { duplicate: false, delivery: deliveryView(done) };
  }

  private async act(trigger: StoredTrigger, delivery: StoredDelivery, payload: unknown): Promise<StoredDelivery> {
    const { spec } = trigger;
    const settle = (outcome: StoredDelivery['outcome'], session: string | null, reason: string | null) => ({
      ...delivery,
      outcome,
      session,
      reason,
    });
    try {
      if (spec.filter !== undefined && !compileFilter(spec.filter)(payload))
        return settle('filtered', null, 'the filter is false for this event');
    } catch (error) {
      return settle('filtered', null, `the filter failed: ${(error as Error).message.split('\n')[0]}`);
    }
    const values = { trigger: trigger.name, delivery: delivery.id, ...timeParts(delivery.received_at, undefined) };
    const prompt = spec.prompt.replace(/\{payload\.([A-Za-z0-9_.-]+)\}/g, (_, path: string) =>
      textOf(valueAt(payload, path)),
    );
    const filled = fillTemplate(prompt, values);
    try {
      if (spec.resume_branch !== undefined) {
        const branch = valueAt(payload, spec.resume_branch);
        const session = sessionOfBranch(branch);
        if (!session) return settle('filtered', null, `${spec.resume_branch} names no aof/<session> branch`);
        await this.sessions.resume(session, filled);
        return settle('resumed', session, null);
      }
      const name = fillTemplate(spec.session_name ?? DEFAULT_NAME_TEMPLATE, {
        ...values,
        delivery: delivery.id.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 36),
      });
      await this.sessions.create({
        name,
        prompt: filled,
        ...(spec.agent !== undefined ? { agent: spec.agent } : {}),
        ...(spec.project_dir !== undefined ? { project_dir: spec.project_dir } : {}),
        ...(spec.worktree !== undefined ? { worktree: spec.worktree } : {}),
        parent: null,
      });
      return settle('started', name, null);
    } catch (error) {
      return settle('error', null, (error as Error).message.slice(0, 2000));
    }
  }

  private async require(name: string): Promise<StoredTrigger> {
    const trigger = await this.store.get(name);
    if (!trigger) throw missing(name);
    return trigger;
  }
}

const missing = (name: string) => notFound(`Trigger '${name}' not found — see ao-trigger list`, 'trigger-not-found');

/** What is shown of a trigger: everything but its secret. */
function view(t: StoredTrigger): Trigger {
  const { secret: _secret, ...shown } = t.spec;
  return {
    name: t.name,
    ...shown,
    signature: t.spec.signature ?? 'github',
    created_at: new Date(t.created_at).toISOString(),
    deliveries: t.deliveries,
  };
}

function deliveryView(d: StoredDelivery): TriggerDelivery {
  return {
    id: d.id,
    trigger: d.trigger,
    received_at: new Date(d.received_at).toISOString(),
    outcome: d.outcome,
    session: d.session,
    reason: d.reason,
  };
}
