import type { ModelHealth } from '@aio/proto/aio/monitor/v1/monitor';
import type { ReferenceProfile } from '@aio/proto/aio/profile/v1/profile';
import { Inject, Injectable } from '@nestjs/common';
import { MonitorSettings } from '../monitor.settings.js';
import { ReferenceProfilesRepository } from '../reference-profiles.repository.js';
import { TrafficService } from '../traffic/traffic.service.js';
import type { VersionState } from '../traffic/traffic.state.js';
import { computeHealth } from './health.compute.js';
import { HealthRepository } from './health.repository.js';

/** Model health from the live windows, or the last snapshot when the monitor has seen nothing since. */
@Injectable()
export class HealthService {
  constructor(
    @Inject(MonitorSettings) private readonly settings: MonitorSettings,
    @Inject(TrafficService) private readonly traffic: TrafficService,
    @Inject(ReferenceProfilesRepository) private readonly profiles: ReferenceProfilesRepository,
    @Inject(HealthRepository) private readonly repo: HealthRepository,
  ) {}

  /**
   * `version` 0 pools every version of the model. `windowSeconds` 0 means MONITOR_WINDOW_SECONDS, and
   * longer windows are clamped to it (that is all the monitor keeps); window_start says which was used.
   */
  async health(model: string, version: number, windowSeconds: number, now = Date.now()): Promise<ModelHealth> {
    const windowMs = windowSeconds === 0 ? this.settings.windowMs : Math.min(windowSeconds * 1000, this.settings.windowMs);
    const states = (version === 0 ? this.traffic.state.versionsOf(model) : [this.traffic.state.get(model, version)]).filter(
      (s): s is VersionState => s !== undefined && !s.window.isEmpty(now),
    );
    if (states.length === 0) {
      const snapshot = await this.repo.snapshot(model, version);
      if (snapshot !== undefined) return { ...snapshot, fromSnapshot: true };
    }
    return this.compute(model, version, states, now, windowMs);
  }

  /** Health of `states` (one version, or all of a model's for version 0). */
  async compute(model: string, version: number, states: readonly VersionState[], now: number, windowMs: number): Promise<ModelHealth> {
    const profiles = new Map<number, ReferenceProfile | null>();
    for (const s of states) profiles.set(s.version, await this.profiles.get(s.model, s.version, now));
    return computeHealth(model, version, states, profiles, this.settings.drift, now, windowMs);
  }
}
