import { EventHandlers, LruDedupStore, subscribe, type EventSubscriber } from '@aio/events';
import { consumerGroup, Platform } from '@aio/host';
import { InferenceRecordSchema } from '@aio/proto/aio/gateway/v1/inference_log';
import { FeedbackSchema } from '@aio/proto/aio/monitor/v1/feedback';
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { TrafficService } from './traffic.service.js';

/** Ids remembered to absorb redeliveries within this process. */
const DEDUP_IDS = 100_000;

/**
 * Consumes the inference log and feedback into memory. Not through Platform.subscribe: its durable
 * dedup costs two database round trips per record, and what these records change (the in-memory
 * windows) does not survive a restart anyway, so an in-memory dedup store is as strong and far cheaper.
 */
@Injectable()
export class TrafficConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private subscriber: EventSubscriber | undefined;

  constructor(
    @Inject(Platform) private readonly platform: Platform,
    @Inject(TrafficService) private readonly traffic: TrafficService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { topics } = this.platform;
    this.subscriber = await subscribe(this.platform.kafka, {
      groupId: consumerGroup(topics.prefix, 'monitor-traffic'),
      topics: [topics.inferenceLog, topics.feedback],
      // A new group rebuilds the windows from what the topics retain (older records fall outside them).
      fromBeginning: true,
      dedup: new LruDedupStore(DEDUP_IDS),
      partitionsConsumedConcurrently: 3,
      logger: this.platform.options.telemetry.getLogger('kafka'),
      handlers: new EventHandlers()
        .on(InferenceRecordSchema, (e) => this.traffic.inference(e.message))
        .on(FeedbackSchema, (e) => Promise.resolve(this.traffic.feedback(e.message))),
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.subscriber?.stop();
  }
}
