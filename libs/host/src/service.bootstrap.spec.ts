import { BadRequestException, Controller, Get, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { Readiness } from './readiness.service.js';
import { runService, type RunningService } from './service.bootstrap.js';

const events: string[] = [];
let dbUp = false;

@Injectable()
class Db implements OnApplicationShutdown {
  constructor(@Inject(Readiness) readiness: Readiness) {
    readiness.register('db', () => Promise.resolve(dbUp ? undefined : 'db not connected'));
  }
  onApplicationShutdown(): void {
    events.push('db closed');
  }
}

class NotFound extends Error {
  readonly code = 5;
}

@Controller('v1')
class ThingsController {
  @Get('bad')
  bad(): never {
    throw new BadRequestException('field "name": must not be empty');
  }
  @Get('missing')
  missing(): never {
    throw new NotFound('model "x" not found');
  }
  @Get('boom')
  boom(): never {
    throw new Error('secret internals');
  }
}

@Module({ controllers: [ThingsController], providers: [Db] })
class TestModule {}

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
let svc: RunningService | undefined;

afterEach(async () => {
  await svc?.stop();
  svc = undefined;
});

async function start(): Promise<{ base: string }> {
  svc = await runService({
    name: 'test',
    module: TestModule,
    bindHost: '127.0.0.1',
    httpPort: 0,
    metrics: () => Promise.resolve('aio_test_total 1\n'),
    nestLogger: { log: () => undefined, error: () => undefined, warn: () => undefined },
    logger: silent,
    handleSignals: false,
    onShutdown: () => {
      events.push('telemetry flushed');
      return Promise.resolve();
    },
  });
  return { base: `http://127.0.0.1:${svc.httpPort}` };
}

describe('runService', () => {
  it('serves health, readiness from registered checks, and metrics', async () => {
    const { base } = await start();
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    dbUp = false;
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: 'not ready', checks: { db: 'db not connected' } });
    dbUp = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await metrics.text()).toContain('aio_test_total 1');
  });

  it('answers every REST error as { error } with the mirrored status', async () => {
    const { base } = await start();
    const bad = await fetch(`${base}/v1/bad`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'field "name": must not be empty' });
    const missing = await fetch(`${base}/v1/missing`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'model "x" not found' });
    const boom = await fetch(`${base}/v1/boom`);
    expect(boom.status).toBe(500);
    expect(await boom.json()).toEqual({ error: 'internal error' });
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it('stops in order: not ready, Nest closed, then telemetry flushed', async () => {
    await start();
    events.length = 0;
    await svc?.stop();
    expect(events).toEqual(['db closed', 'telemetry flushed']);
    svc = undefined;
  });
});
