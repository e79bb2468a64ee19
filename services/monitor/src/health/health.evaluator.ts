import { Platform } from '@aio/host';
import { newOutboxEntry } from '@aio/mongo';
import { AlertRaisedSchema, DriftDetectedSchema } from '@aio/proto/aio/monitor/v1/events';
import type { ModelHealth } from '@aio/proto/aio/monitor/v1/monitor';
import { create, toBinary } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import type { Logger } from '@aio/telemetry';
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { MonitorSettings } from '../monitor.settings.js';
import { TrafficService } from '../traffic/traffic.service.js';
import type { VersionState } from '../traffic/traffic.state.js';
import { HealthRepository } from './health.repository.js';
import { MonitorMetrics } from './health.metrics.js';
import { HealthService } from './health.service.js';
import { decideRules, describeDrift, DRIFT_RULE, type AlertDecision } from './rules.js';

/**
 * Every MONITOR_EVALUATE_SECONDS: scores each version with traffic in its window, refreshes its gauges,
 * persists its health (and its model's, over all versions) and applies the rules; DriftDetected and
 * AlertRaised go out through the outbox of their rule-firing document, at most once per cooldown.
 */
@Injectable()
export class HealthEvaluator implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = false;

  constructor(
    @Inject(Platform) private readonly platform: Platform,
    @Inject(MonitorSettings) private readonly settings: MonitorSettings,
    @Inject(TrafficService) private readonly traffic: TrafficService,
    @Inject(HealthService) private readonly health: HealthService,
    @Inject(HealthRepository) private readonly repo: HealthRepository,
    @Inject(MonitorMetrics) private readonly metrics: MonitorMetrics,
  ) {
    this.logger = platform.options.telemetry.getLogger('rules');
  }

  onApplicationBootstrap(): void {
    this.platform.startOutbox([this.repo.firings], [DriftDetectedSchema, AlertRaisedSchema]);
    this.schedule();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inFlight;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.inFlight = this.evaluate()
        .catch((err: unknown) => this.logger.error('evaluation failed; retried at the next interval', {}, err))
        .finally(() => {
          this.inFlight = undefined;
          this.schedule();
        });
    }, this.settings.evaluateMs);
  }

  /** One pass over every version in memory. */
  async evaluate(now = Date.now()): Promise<void> {
    const byModel = new Map<string, VersionState[]>();
    for (const state of this.traffic.state.all()) {
      if (state.window.isEmpty(now)) {
        this.metrics.forget(state.model, state.version);
        continue;
      }
      const list = byModel.get(state.model) ?? [];
      list.push(state);
      byModel.set(state.model, list);
    }
    for (const [model, states] of byModel) {
      for (const state of states) {
        const health = await this.health.compute(model, state.version, [state], now, this.settings.windowMs);
        this.metrics.update(health);
        // Rules first: a snapshot then proves the rules have seen its window (the tests wait on that).
        await this.applyRules(health, now);
        await this.repo.saveSnapshot(health, new Date(now));
      }
      await this.repo.saveSnapshot(await this.health.compute(model, 0, states, now, this.settings.windowMs), new Date(now));
    }
  }

  private async applyRules(health: ModelHealth, now: number): Promise<void> {
    const { drifted, alerts } = decideRules(health, this.settings);
    const { model, version } = health;
    const attrs = { 'aio.model': model, 'aio.version': version };
    if (drifted.length > 0) {
      const samples = drifted.reduce((n, f) => (f.sampleCount > n ? f.sampleCount : n), 0n);
      const event = create(DriftDetectedSchema, { model, version, features: drifted, windowStart: health.windowStart, windowEnd: health.windowEnd, sampleCount: samples });
      const summary = describeDrift(drifted);
      const psi = drifted.filter((f) => f.method === 'psi');
      const top = (psi.length > 0 ? psi : drifted).reduce((a, b) => (b.score > a.score ? b : a));
      const fired = await this.repo.fire(
        {
          model,
          version,
          rule: DRIFT_RULE,
          summary,
          value: top.score,
          threshold: top.threshold,
          event: newOutboxEntry({ topic: this.platform.topics.monitorEvents, key: model, type: DriftDetectedSchema.typeName, payload: toBinary(DriftDetectedSchema, event) }),
        },
        new Date(now),
        this.settings.driftCooldownMs,
      );
      if (fired) {
        this.metrics.firings.add(1, { rule: DRIFT_RULE });
        this.logger.warn(`drift detected: ${model} v${version}: ${summary}`, { ...attrs, 'event.action': 'drift-detected' });
        this.platform.nudgeOutbox();
      } else {
        this.logger.debug(`drift persists in ${model} v${version} (cooling down): ${summary}`, attrs);
      }
    }
    for (const alert of alerts) await this.raise(health, alert, now);
  }

  private async raise(health: ModelHealth, alert: AlertDecision, now: number): Promise<void> {
    const { model, version } = health;
    const id = randomUUID();
    const event = create(AlertRaisedSchema, {
      id,
      model,
      version,
      rule: alert.rule,
      severity: alert.severity,
      message: alert.message,
      value: alert.value,
      threshold: alert.threshold,
      raiseTime: timestampFromMs(now),
    });
    const fired = await this.repo.fire(
      {
        model,
        version,
        rule: alert.rule,
        summary: alert.message,
        value: alert.value,
        threshold: alert.threshold,
        event: newOutboxEntry({ id, topic: this.platform.topics.monitorEvents, key: model, type: AlertRaisedSchema.typeName, payload: toBinary(AlertRaisedSchema, event) }),
      },
      new Date(now),
      this.settings.alertCooldownMs,
    );
    if (fired) {
      this.metrics.firings.add(1, { rule: alert.rule });
      this.logger.warn(`alert ${alert.rule}: ${alert.message}`, { 'aio.model': model, 'aio.version': version, 'event.action': 'alert-raised' });
      this.platform.nudgeOutbox();
    }
  }
}
