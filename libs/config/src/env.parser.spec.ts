import { describe, expect, expectTypeOf, it } from 'vitest';
import { ConfigError } from './config.error.js';
import { bool, int, list, oneOf, port, secret, str, url } from './env.field.js';
import { describeConfig, parseEnv } from './env.parser.js';
import { platformEnvSpec } from './platform.env.js';

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseEnv', () => {
  const spec = {
    NAME: str(),
    NICK: str({ optional: true }),
    GREETING: str({ default: 'hi' }),
    WORKERS: int({ default: 2, min: 1, max: 8 }),
    PORT: port({ default: 8080 }),
    VERBOSE: bool({ default: false }),
    MODE: oneOf(['a', 'b'], { default: 'a' }),
    ENDPOINT: url({ default: 'http://localhost:1', protocols: ['http', 'https'] }),
    HOSTS: list({ default: ['x'] }),
    TOKEN: secret(),
  };

  it('infers a fully typed object and applies defaults', () => {
    const config = parseEnv(spec, { NAME: 'n', TOKEN: 't' });
    expectTypeOf(config.NAME).toEqualTypeOf<string>();
    expectTypeOf(config.NICK).toEqualTypeOf<string | undefined>();
    expectTypeOf(config.WORKERS).toEqualTypeOf<number>();
    expectTypeOf(config.VERBOSE).toEqualTypeOf<boolean>();
    expectTypeOf(config.MODE).toEqualTypeOf<'a' | 'b'>();
    expectTypeOf(config.HOSTS).toEqualTypeOf<string[]>();
    expect(config).toEqual({
      NAME: 'n',
      NICK: undefined,
      GREETING: 'hi',
      WORKERS: 2,
      PORT: 8080,
      VERBOSE: false,
      MODE: 'a',
      ENDPOINT: 'http://localhost:1',
      HOSTS: ['x'],
      TOKEN: 't',
    });
  });

  it('parses every kind of value from the environment', () => {
    const config = parseEnv(spec, {
      NAME: ' n ',
      NICK: 'k',
      WORKERS: '8',
      PORT: '0',
      VERBOSE: 'YES',
      MODE: 'b',
      ENDPOINT: 'https://example.com/x',
      HOSTS: ' a:1, b:2 ,, ',
      TOKEN: 't',
    });
    expect(config).toMatchObject({ NAME: 'n', NICK: 'k', WORKERS: 8, PORT: 0, VERBOSE: true, MODE: 'b', HOSTS: ['a:1', 'b:2'] });
  });

  it('treats blank values as unset', () => {
    expect(parseEnv(spec, { NAME: 'n', TOKEN: 't', WORKERS: '  ', HOSTS: '' }).WORKERS).toBe(2);
  });

  it('lists every bad or missing variable with the rule and the received value', () => {
    const err = errorOf(() =>
      parseEnv(spec, { WORKERS: '9', PORT: '8080.5', VERBOSE: 'maybe', MODE: 'c', ENDPOINT: 'ftp://x', HOSTS: ',' }),
    );
    expect(err.issues.map((i) => i.name)).toEqual(['NAME', 'WORKERS', 'PORT', 'VERBOSE', 'MODE', 'ENDPOINT', 'HOSTS', 'TOKEN']);
    expect(err.message).toContain('Invalid environment: 8 variables to fix');
    expect(err.message).toContain('NAME: expected string is required but not set; not set');
    expect(err.message).toContain('WORKERS: expected integer between 1 and 8; received "9"');
    expect(err.message).toContain('PORT: expected integer between 0 and 65535; received "8080.5"');
    expect(err.message).toContain('VERBOSE: expected boolean (true/false/1/0/yes/no); received "maybe"');
    expect(err.message).toContain('MODE: expected one of a|b; received "c"');
    expect(err.message).toContain('ENDPOINT: expected URL (http:// or https://); received "ftp://x"');
    expect(err.message).toContain('HOSTS: expected list separated by "," with at least one item; received ","');
    expect(err.message).toContain('TOKEN: expected secret is required but not set');
  });

  it('never prints a secret value or a URL password', () => {
    const strictSecret = { ...secret(), parse: () => ({ ok: false as const, rule: 'secret of 32+ characters' }) };
    const err = errorOf(() =>
      parseEnv({ KEY: strictSecret, DB: url({ protocols: ['mongodb'] }) }, { KEY: 'hunter2', DB: 'postgres://u:pw1@h' }),
    );
    expect(err.message).toContain('KEY: expected secret of 32+ characters; received a hidden value of 7 characters');
    expect(err.message).toContain('DB: expected URL (mongodb://); received "postgres://u:***@h"');
    expect(err.message).not.toContain('hunter2');
    expect(err.message).not.toContain('pw1');
  });

  it('rejects decimal tricks that Number() would accept', () => {
    for (const raw of ['1e3', '0x10', '', ' 1 2', 'Infinity']) {
      expect(int().parse(raw === '' ? undefined : raw).ok).toBe(false);
    }
  });

  it('accepts MongoDB seed lists and rejects malformed URLs', () => {
    const mongo = url({ protocols: ['mongodb', 'mongodb+srv'] });
    expect(mongo.parse('mongodb://a:27017,b:27017/db?replicaSet=rs').ok).toBe(true);
    expect(mongo.parse('mongodb+srv://u:p@cluster.example.net/db').ok).toBe(true);
    expect(mongo.parse('mongodb://a:27017,,b').ok).toBe(false);
    expect(mongo.parse('127.0.0.1:27017').ok).toBe(false);
    expect(mongo.parse('http://a').ok).toBe(false);
  });

  it('refuses a spec whose own default breaks its rule', () => {
    expect(() => int({ default: 0, min: 1 })).toThrow(/default 0/);
    expect(() => url({ default: 'nope' })).toThrow(/default nope/);
  });
});

describe('platformEnvSpec', () => {
  it('parses an empty environment to the documented defaults', () => {
    const config = parseEnv(platformEnvSpec, {});
    expectTypeOf(config.AIO_TELEMETRY_EXPORT).toEqualTypeOf<'search' | 'otlp' | 'both' | 'none'>();
    expectTypeOf(config.KAFKA_SASL_MECHANISM).toEqualTypeOf<'plain' | 'scram-sha-256' | 'scram-sha-512' | undefined>();
    expect(config).toMatchObject({
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      KAFKA_SSL: false,
      AIO_TOPIC_PREFIX: 'aio',
      MONGODB_URI: 'mongodb://127.0.0.1:27017',
      SEARCH_URL: 'http://127.0.0.1:9200',
      AIO_TELEMETRY_EXPORT: 'search',
      LOG_LEVEL: 'info',
      AIO_AUTH_ISSUER: 'aio-local',
      AIO_AUTH_AUDIENCE: 'aio',
      AIO_AUTH_SECRET: undefined,
    });
  });

  it('is spread into a service spec', () => {
    const spec = { ...platformEnvSpec, GRPC_PORT: port({ default: 50051 }) };
    const config = parseEnv(spec, { GRPC_PORT: '6000', LOG_LEVEL: 'debug' });
    expectTypeOf(config.GRPC_PORT).toEqualTypeOf<number>();
    expect(config.GRPC_PORT).toBe(6000);
    expect(config.LOG_LEVEL).toBe('debug');
  });
});

describe('describeConfig', () => {
  it('masks secrets and URL passwords', () => {
    const env = {
      AIO_AUTH_SECRET: 'top-secret-value',
      SEARCH_PASSWORD: 'pw',
      MONGODB_URI: 'mongodb://app:s3cret@db1:27017,db2:27017/aio',
    };
    const line = describeConfig(parseEnv(platformEnvSpec, env), platformEnvSpec);
    expect(line).toContain('AIO_AUTH_SECRET=***');
    expect(line).toContain('SEARCH_PASSWORD=***');
    expect(line).toContain('KAFKA_SASL_PASSWORD=(unset)');
    expect(line).toContain('MONGODB_URI=mongodb://app:***@db1:27017,db2:27017/aio');
    expect(line).toContain('KAFKA_BROKERS=127.0.0.1:9092');
    expect(line).not.toContain('top-secret-value');
    expect(line).not.toContain('s3cret');
  });
});
