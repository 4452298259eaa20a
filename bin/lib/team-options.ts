/** The options of ao-new that place a session in a team: its parent, its callback, its limits. */
import type { SessionCreate } from '../../sdk/index.js';
import { AGENT_CREDENTIAL_PREFIX } from '../../servers/common/http/principal.js';
import { checkName, CliError, stringOption, type OptionSpec, type Options } from './cli.js';

export const TEAM_OPTIONS: OptionSpec[] = [
  {
    name: 'parent',
    type: 'string',
    value: 'NAME',
    description:
      'The session this one works for (default: the session this command runs in, if any); --no-parent for none',
  },
  {
    name: 'callback',
    type: 'boolean',
    description: 'When its run ends, resume the parent with the outcome (use with --async, then end your turn)',
  },
  {
    name: 'max-cost-usd',
    type: 'string',
    value: 'USD',
    description: 'Budget for this session and everything it starts; stopped when crossed',
  },
  {
    name: 'max-tokens',
    type: 'string',
    value: 'N',
    description: 'Token budget for this session and everything it starts',
  },
  { name: 'max-turns', type: 'string', value: 'N', description: 'Model turns allowed per run' },
  { name: 'run-timeout', type: 'string', value: 'SECONDS', description: 'Stop a run that goes on longer than this' },
  { name: 'inherit-limits', type: 'boolean', description: 'Sessions this one starts get the same limits' },
  {
    name: 'webhook-url',
    type: 'string',
    value: 'URL',
    description:
      'POST a signed notice to this URL when a run ends (a public address, or one the runtime lists in AGENT_ORCHESTRATOR_WEBHOOK_ALLOWED_HOSTS)',
  },
];

function positive(options: Options, name: string, integer: boolean): number | undefined {
  const raw = stringOption(options, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new CliError(
      `--${name} must be ${integer ? 'a whole number' : 'a number'} greater than 0, not '${raw}'`,
      'usage',
    );
  }
  return value;
}

/** The SessionCreate fields the team options give; checked before any request. */
export function teamFields(options: Options): Partial<SessionCreate> {
  const fields: Partial<SessionCreate> = {};
  if (options.parent === false) fields.parent = null;
  else {
    const parent = stringOption(options, 'parent');
    if (parent !== undefined) fields.parent = checkName(parent);
  }
  if (options.callback === true) {
    // The parent defaults to the session this command runs in: its agent's environment names it, or
    // its credential does (an agent on a warm process learns its session only when its run takes it).
    const inSession =
      Boolean(process.env.AGENT_ORCHESTRATOR_SESSION_NAME) ||
      Boolean(process.env.AGENT_ORCHESTRATOR_API_TOKEN?.startsWith(AGENT_CREDENTIAL_PREFIX));
    if (fields.parent === null || (fields.parent === undefined && !inSession))
      throw new CliError(
        '--callback reports to a parent session: give --parent NAME, or run ao-new from inside a session (an agent that delegates)',
        'usage',
      );
    fields.callback = true;
  }
  const limits: NonNullable<SessionCreate['limits']> = {};
  const cost = positive(options, 'max-cost-usd', false);
  const tokens = positive(options, 'max-tokens', true);
  const turns = positive(options, 'max-turns', true);
  const timeout = positive(options, 'run-timeout', true);
  if (cost !== undefined) limits.max_cost_usd = cost;
  if (tokens !== undefined) limits.max_tokens = tokens;
  if (turns !== undefined) limits.max_turns = turns;
  if (timeout !== undefined) limits.timeout_seconds = timeout;
  if (options['inherit-limits'] === true) limits.inherit = true;
  if (Object.keys(limits).length) fields.limits = limits;
  const webhook = stringOption(options, 'webhook-url');
  if (webhook !== undefined) fields.webhook_url = webhook;
  return fields;
}
