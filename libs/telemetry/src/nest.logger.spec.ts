import { describe, expect, it } from 'vitest';
import { nestLogger } from './nest.logger.js';
import type { LogAttributes, Logger } from './telemetry.logger.js';

interface Call {
  component: string;
  level: keyof Logger;
  message: string;
  attributes: LogAttributes | undefined;
  error: unknown;
}

function recording() {
  const calls: Call[] = [];
  const getLogger = (component: string): Logger => {
    const at =
      (level: keyof Logger) =>
      (message: string, attributes?: LogAttributes, error?: unknown): void => {
        calls.push({ component, level, message, attributes, error });
      };
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  };
  return { calls, logger: nestLogger(getLogger, 'svc') };
}

describe('nestLogger', () => {
  it('uses Nest’s trailing context argument as the component', () => {
    const { calls, logger } = recording();
    logger.log('Mapped {/models, GET} route', 'RouterExplorer');
    logger.verbose('details');
    expect(calls).toEqual([
      { component: 'RouterExplorer', level: 'info', message: 'Mapped {/models, GET} route', attributes: undefined, error: undefined },
      { component: 'svc', level: 'debug', message: 'details', attributes: undefined, error: undefined },
    ]);
  });

  it('reads error(message, stack, context) and error(error)', () => {
    const { calls, logger } = recording();
    const stack = 'Error: down\n    at handler (file.js:1:1)';
    logger.error('request failed', stack, 'ExceptionsHandler');
    const failure = new Error('boom');
    logger.error(failure);
    logger.error('no stack', undefined, 'Ctx');
    expect(calls[0]).toMatchObject({ component: 'ExceptionsHandler', level: 'error', message: 'request failed', error: { stack } });
    expect(calls[1]).toMatchObject({ component: 'svc', message: 'boom', error: failure });
    expect(calls[2]).toMatchObject({ component: 'Ctx', message: 'no stack', attributes: undefined, error: undefined });
  });

  it('stringifies non-string messages and keeps extra parameters as attributes', () => {
    const { calls, logger } = recording();
    logger.warn({ slow: true }, 42, 'Ctx');
    expect(calls[0]).toMatchObject({ component: 'Ctx', level: 'warn', message: '{"slow":true}', attributes: { params: ['42'] } });
  });
});
