/**
 * The RunSpec: everything one run needs (openapi/runtime.yaml, `RunSpec`). The runtime writes it
 * (servers/runtime/run-spec.ts); the executor reads nothing else about the run's session. A runner
 * says which versions it knows when it claims, and refuses a RunSpec of any other version.
 */
import type { components } from '../../sdk/generated/runtime.js';

export type RunSpec = components['schemas']['RunSpec'];

/** The version of the RunSpecs this code writes. */
export const RUN_SPEC_VERSION = 1;

/** The versions this executor can run (sent with a runner's claims). */
export const KNOWN_RUN_SPEC_VERSIONS: readonly number[] = [RUN_SPEC_VERSION];

/**
 * Why a RunSpec cannot be run here, or null when it can: its version is not one `known` lists. The
 * reason starts with the problem type, `run-spec-version`, so that a program reading the run's error can tell.
 */
export function runSpecRefusal(spec: Pick<RunSpec, 'version'>, known: readonly number[]): string | null {
  if (known.includes(spec.version)) return null;
  return `run-spec-version: the run's RunSpec is version ${spec.version}; this executor runs only version ${known.join(', ')}: upgrade aof here to run it`;
}
