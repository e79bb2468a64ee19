import { Platform } from '@aio/host';
import type { InferenceRecord } from '@aio/proto/aio/gateway/v1/inference_log';
import type { Feedback } from '@aio/proto/aio/monitor/v1/feedback';
import type { Logger } from '@aio/telemetry';
import { Inject, Injectable } from '@nestjs/common';
import { MonitorMetrics } from '../health/health.metrics.js';
import { MonitorSettings } from '../monitor.settings.js';
import { ReferenceProfilesRepository } from '../reference-profiles.repository.js';
import { TrafficState } from './traffic.state.js';

/** Inference log records and feedback labels into the in-memory windows. */
@Injectable()
export class TrafficService {
  readonly state: TrafficState;
  private readonly logger: Logger;

  constructor(
    @Inject(MonitorSettings) settings: MonitorSettings,
    @Inject(ReferenceProfilesRepository) private readonly profiles: ReferenceProfilesRepository,
    @Inject(MonitorMetrics) private readonly metrics: MonitorMetrics,
    @Inject(Platform) platform: Platform,
  ) {
    this.logger = platform.options.telemetry.getLogger('traffic');
    this.state = new TrafficState(
      settings,
      (model, version) => profiles.cached(model, version),
      (evicted) => {
        metrics.forget(evicted.model, evicted.version);
        this.logger.info(`forgot the window of ${evicted.model} v${evicted.version}: more than MONITOR_MAX_VERSIONS=${settings.maxVersions} versions are served`);
      },
    );
  }

  async inference(record: InferenceRecord): Promise<void> {
    // Warm the profile cache: a feedback join then knows classification from regression without I/O.
    if (record.model !== '' && this.profiles.cached(record.model, record.version) === undefined) await this.profiles.get(record.model, record.version);
    const outcome = this.state.recordInference(record, Date.now());
    this.metrics.records.add(1, { outcome: outcome.counted ? 'counted' : 'stale' });
    if (outcome.newDecodeProblem !== undefined) {
      this.logger.warn(
        `inputs of ${record.model} v${record.version} cannot be decoded, so their drift is not measured (requests, latency and errors still are): ${outcome.newDecodeProblem}`,
        { 'aio.model': record.model, 'aio.version': record.version },
      );
    }
  }

  feedback(feedback: Feedback): void {
    const outcome = this.state.recordFeedback(feedback, Date.now());
    this.metrics.feedback.add(1, { outcome });
    if (outcome !== 'joined') {
      this.logger.debug(`feedback for request ${feedback.requestId} ${outcome === 'unmatched' ? 'matches no remembered prediction' : 'does not fit its prediction (label count or type)'}`, {
        'aio.model': feedback.model,
      });
    }
  }
}
