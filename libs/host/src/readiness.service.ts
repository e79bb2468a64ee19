import { Injectable } from '@nestjs/common';

/** A dependency the service needs before it takes traffic; resolves to an error text when not ready. */
export type ReadinessCheck = () => Promise<string | undefined>;

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, string>;
}

/**
 * What /readyz answers. Components register a check for each dependency they need (database, consumer
 * group, loaded models); shutdown flips the service to not-ready first so load balancers drain it.
 */
@Injectable()
export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();
  private shuttingDown = false;

  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  async report(): Promise<ReadinessReport> {
    const checks: Record<string, string> = {};
    let ready = !this.shuttingDown;
    if (this.shuttingDown) checks.shutdown = 'shutting down';
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        let problem: string | undefined;
        try {
          problem = await check();
        } catch (err) {
          problem = err instanceof Error ? err.message : String(err);
        }
        checks[name] = problem ?? 'ok';
        if (problem !== undefined) ready = false;
      }),
    );
    return { ready, checks };
  }
}
