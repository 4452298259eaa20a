/** `--output-schema` of ao-new and ao-create-agent: a JSON Schema given inline or as a file. */
import { CliError, stringOption, type OptionSpec, type Options } from './cli.js';

export const OUTPUT_SCHEMA_OPTION: OptionSpec = {
  name: 'output-schema',
  type: 'string',
  value: 'SCHEMA',
  description: 'A JSON Schema every answer must match (inline JSON, or a .json file); the result is then that JSON',
};

/** The schema object, or undefined without the option. Inline when it starts with `{`, else a file. */
export async function readOutputSchema(options: Options): Promise<Record<string, unknown> | undefined> {
  const value = stringOption(options, 'output-schema');
  if (value === undefined) return undefined;
  let text = value;
  if (!value.trimStart().startsWith('{')) {
    const { readFile } = await import('node:fs/promises');
    try {
      text = await readFile(value, 'utf8');
    } catch (error) {
      throw new CliError(
        `--output-schema: cannot read '${value}' (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}) — give a JSON Schema inline ('{"type":"object",...}') or a .json file`,
        'usage',
      );
    }
  }
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (error) {
    throw new CliError(`--output-schema: not JSON (${(error as Error).message})`, 'usage');
  }
  if (!schema || typeof schema !== 'object' || Array.isArray(schema))
    throw new CliError('--output-schema: must be a JSON object (a JSON Schema)', 'usage');
  return schema as Record<string, unknown>;
}
