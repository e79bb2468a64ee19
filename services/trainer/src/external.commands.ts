// External trainers: `external:<name>` runs the command configured for <name> in
// TRAINER_EXTERNAL_COMMANDS (a JSON object, name -> argv array), e.g.
// {"sklearn":["python3","examples/sklearn/train.py"]}.
import type { Field, FieldResult } from '@aio/config';
import { NAME } from './run.validator.js';

export const EXTERNAL_PREFIX = 'external:';

/** name -> argv (program first); never run through a shell. */
export type ExternalCommands = Readonly<Record<string, readonly string[]>>;

const RULE = 'JSON object of trainer name -> non-empty array of strings (argv), e.g. {"sklearn":["python3","examples/sklearn/train.py"]}';

/** Parses and validates TRAINER_EXTERNAL_COMMANDS; the failure says which entry is wrong and why. */
export function parseExternalCommands(raw: string | undefined): FieldResult<ExternalCommands> {
  if (raw === undefined || raw.trim() === '') return { ok: true, value: {} };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    return { ok: false, rule: `${RULE}; it is not JSON (${err instanceof Error ? err.message : String(err)})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, rule: `${RULE}; it is not a JSON object` };
  const commands: Record<string, readonly string[]> = {};
  for (const [name, argv] of Object.entries(value)) {
    if (!NAME.test(name)) return { ok: false, rule: `${RULE}; name "${name}" must be 1-63 characters of a-z, 0-9, '-' and '_'` };
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a): a is string => typeof a === 'string') || argv[0] === '') {
      return { ok: false, rule: `${RULE}; "${name}" must be a non-empty array of strings starting with the program` };
    }
    commands[name] = Object.freeze([...argv]);
  }
  return { ok: true, value: Object.freeze(commands) };
}

/** The config field for TRAINER_EXTERNAL_COMMANDS (default `{}`: no external trainers). */
export function externalCommands(): Field<ExternalCommands> {
  return {
    rule: `${RULE} (default {})`,
    secret: false,
    parse: parseExternalCommands,
    show: (value) => JSON.stringify(value),
  };
}

/** `external:<name>` -> name; anything else -> undefined. */
export function externalTrainerName(trainer: string): string | undefined {
  return trainer.startsWith(EXTERNAL_PREFIX) ? trainer.slice(EXTERNAL_PREFIX.length) : undefined;
}
