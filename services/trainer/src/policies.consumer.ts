import { EventHandlers, type EventSubscriber } from '@aio/events';
import { Platform } from '@aio/host';
import { DriftDetectedSchema } from '@aio/proto/aio/monitor/v1/events';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { PoliciesService } from './policies.service.js';

/** Consumes the monitor's events for retrain policies (DriftDetected); its own group, durable dedup. */
@Injectable()
export class PoliciesConsumer implements OnApplicationBootstrap {
  subscriber: EventSubscriber | undefined;

  constructor(
    @Inject(Platform) private readonly platform: Platform,
    @Inject(PoliciesService) private readonly policies: PoliciesService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.subscriber = await this.platform.subscribe({
      groupId: 'trainer-policies',
      topics: [this.platform.topics.monitorEvents],
      // From the beginning, so nothing published while the group forms is missed; events older than a
      // policy never trigger it (PoliciesService compares event time with the policy's update_time).
      fromBeginning: true,
      handlers: new EventHandlers().on(DriftDetectedSchema, (event) => this.policies.onDriftDetected(event)),
    });
  }
}
