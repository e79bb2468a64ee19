import { EventHandlers, type EventSubscriber } from '@aio/events';
import { Platform } from '@aio/host';
import { DatasetCreatedSchema, DatasetSchemaUpdatedSchema, DatasetVersionCreatedSchema, RecordBatchCommittedSchema } from '@aio/proto/aio/ingestion/v1/events';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { DatasetsService } from './datasets.service.js';
import { PoliciesService } from './policies.service.js';

/** Consumes the data events topic (durable dedup by event id; Platform stops it and commits on shutdown). */
@Injectable()
export class DatasetsConsumer implements OnApplicationBootstrap {
  subscriber: EventSubscriber | undefined;

  constructor(
    @Inject(Platform) private readonly platform: Platform,
    @Inject(DatasetsService) private readonly datasets: DatasetsService,
    @Inject(PoliciesService) private readonly policies: PoliciesService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.subscriber = await this.platform.subscribe({
      groupId: 'trainer',
      topics: [this.platform.topics.dataEvents],
      // A new group starts at the beginning: datasets defined before the trainer first ran count too.
      fromBeginning: true,
      handlers: new EventHandlers()
        .on(DatasetCreatedSchema, (event) => this.datasets.onDatasetCreated(event))
        .on(DatasetVersionCreatedSchema, (event) => this.datasets.onDatasetVersionCreated(event))
        .on(DatasetSchemaUpdatedSchema, (event) => this.datasets.onDatasetSchemaUpdated(event))
        .on(RecordBatchCommittedSchema, (event) => this.policies.onRecordBatchCommitted(event)),
    });
  }
}
