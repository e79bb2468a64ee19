import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { externalTrainerName, parseExternalCommands } from './external.commands.js';

describe('TRAINER_EXTERNAL_COMMANDS', () => {
  it('parses name -> argv, {} by default', () => {
    expect(parseExternalCommands(undefined)).toEqual({ ok: true, value: {} });
    expect(parseExternalCommands('{"sklearn":["python3","examples/sklearn/train.py"]}')).toEqual({
      ok: true,
      value: { sklearn: ['python3', 'examples/sklearn/train.py'] },
    });
    expect(loadConfig({ TRAINER_EXTERNAL_COMMANDS: '{"a":["node","x.mjs"]}' }).TRAINER_EXTERNAL_COMMANDS).toEqual({ a: ['node', 'x.mjs'] });
    expect(loadConfig({}).TRAINER_EXTERNAL_TIMEOUT_SECONDS).toBe(3600);
  });

  it('refuses what is not an object of non-empty string arrays, saying which entry', () => {
    const rule = (raw: string): string => {
      const r = parseExternalCommands(raw);
      return r.ok ? 'ok' : r.rule;
    };
    expect(rule('not json')).toMatch(/it is not JSON/);
    expect(rule('["python3"]')).toMatch(/it is not a JSON object/);
    expect(rule('{"Bad Name":["x"]}')).toMatch(/name "Bad Name"/);
    expect(rule('{"a":[]}')).toMatch(/"a" must be a non-empty array of strings/);
    expect(rule('{"a":"python3 x.py"}')).toMatch(/"a" must be a non-empty array/);
    expect(rule('{"a":["python3",1]}')).toMatch(/"a" must be a non-empty array/);
    expect(() => loadConfig({ TRAINER_EXTERNAL_COMMANDS: '{"a":[]}' })).toThrow(/TRAINER_EXTERNAL_COMMANDS/);
  });

  it('recognises external:<name>', () => {
    expect(externalTrainerName('external:sklearn')).toBe('sklearn');
    expect(externalTrainerName('builtin:logistic-regression')).toBeUndefined();
  });
});
