/** Session and blueprint names: the contract's rule (sdk/generated/rules.ts), in a person's words. */
import { isValidName, NAME_RULE } from '../../sdk/generated/rules.js';

export { NAME_RULE };

/** Why `name` cannot be a name, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (isValidName(name)) return undefined;
  if (!name) return 'Give it a name.';
  return `Use ${NAME_RULE.words.charAt(0).toLowerCase()}${NAME_RULE.words.slice(1)}`;
}
