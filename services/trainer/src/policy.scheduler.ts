import { Platform } from '@aio/host';
import type { Logger } from '@aio/telemetry';
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { PoliciesService } from './policies.service.js';
import { TrainerSettings } from './trainer.settings.js';

/** Checks the retrain policies' cron schedules every TRAINER_SCHEDULE_TICK_SECONDS. */
@Injectable()
export class PolicyScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private tick: Promise<void> = Promise.resolve();
  private readonly logger: Logger;

  constructor(
    @Inject(PoliciesService) private readonly policies: PoliciesService,
    @Inject(TrainerSettings) private readonly settings: TrainerSettings,
    @Inject(Platform) platform: Platform,
  ) {
    this.logger = platform.options.telemetry.getLogger('trainer.schedule');
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      // Ticks never overlap: a slow one (a snapshot through ingestion) delays the next.
      this.tick = this.tick.then(() =>
        this.policies.runDueSchedules(new Date()).catch((err: unknown) => this.logger.error('checking retrain schedules failed', {}, err)),
      );
    }, this.settings.config.TRAINER_SCHEDULE_TICK_SECONDS * 1000);
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.tick;
  }
}
