import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from '@aio/proto/grpc/health/v1/health';
import type { CallContext, ServiceImpl } from './call.context.js';
import { GrpcError, Status } from './grpc.error.js';

/**
 * Serving status per service name ("" is the whole server), served as grpc.health.v1.Health.
 * Watch streams end when the server closes, so they never hold a graceful shutdown open.
 */
export class HealthStatuses {
  private readonly statuses = new Map<string, ServingStatus>();
  // Waiters of Watch streams; each is called once on the next change and then dropped.
  private readonly waiters = new Set<() => void>();
  private readonly closing = new AbortController();

  set(service: string, serving: boolean): void {
    const status = serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    this.wake();
  }

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** Everything NOT_SERVING, then every Watch stream ends. */
  close(): void {
    for (const service of this.statuses.keys()) this.statuses.set(service, ServingStatus.NOT_SERVING);
    this.wake();
    this.closing.abort();
  }

  implementation(): ServiceImpl<typeof Health> {
    return {
      check: (request) => {
        const status = this.statuses.get(request.service);
        if (status === undefined) {
          return Promise.reject(new GrpcError(Status.NOT_FOUND, `service "${request.service}" is not served here`));
        }
        return Promise.resolve({ status });
      },
      watch: (request, ctx) => this.watch(request.service, ctx),
    };
  }

  private async *watch(service: string, ctx: CallContext): AsyncGenerator<{ status: ServingStatus }> {
    const signal = AbortSignal.any([ctx.signal, this.closing.signal]);
    let last: ServingStatus | undefined;
    for (;;) {
      const current = this.statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
      if (current !== last) {
        last = current;
        yield { status: current };
      }
      if (signal.aborted) return;
      await this.nextChange(signal);
    }
  }

  private nextChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

export { Health };
