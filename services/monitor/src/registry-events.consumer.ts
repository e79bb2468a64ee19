import { EventHandlers, type EventEnvelope } from '@aio/events';
import { Platform } from '@aio/host';
import { AliasMovedSchema, DeploymentChangedSchema, ModelCreatedSchema, ModelVersionCreatedSchema } from '@aio/proto/aio/registry/v1/events';
import type { DescMessage } from '@bufbuild/protobuf';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { ReferenceProfilesRepository } from './reference-profiles.repository.js';
import { WatchedModelsService, type WatchChange } from './watched-models.service.js';

/** Registry events -> watched models. The span of each handler continues the producer's trace (@aio/events). */
@Injectable()
export class RegistryEventsConsumer implements OnApplicationBootstrap {
  constructor(
    @Inject(Platform) private readonly platform: Platform,
    @Inject(WatchedModelsService) private readonly watched: WatchedModelsService,
    @Inject(ReferenceProfilesRepository) private readonly profiles: ReferenceProfilesRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // The platform created the shared topics (and DLQs) when it connected.
    const topic = this.platform.topics.registryEvents;
    const record = <D extends DescMessage>(event: EventEnvelope<D>, model: string, change: WatchChange): Promise<void> =>
      this.watched.record({ id: event.id, model, time: event.time ?? new Date(), change });
    await this.platform.subscribe({
      groupId: 'monitor',
      topics: [topic],
      // A monitor started after the registry must still learn every model the topic retains.
      fromBeginning: true,
      handlers: new EventHandlers()
        .on(ModelCreatedSchema, (e) => record(e, e.message.model?.name ?? e.key ?? '', { kind: 'model-created', aliases: e.message.model?.aliases ?? {} }))
        .on(ModelVersionCreatedSchema, async (e) => {
          const v = e.message.version;
          const model = v?.model ?? e.key ?? '';
          // The profile first: the upsert is idempotent, so a crash before the watched-model write repeats it harmlessly.
          if (v?.referenceProfile !== undefined && model !== '' && v.version !== 0) await this.profiles.put(model, v.version, v.referenceProfile);
          await record(e, model, { kind: 'version-created', version: v?.version ?? 0 });
        })
        .on(AliasMovedSchema, (e) => {
          const change = e.message.change;
          return record(e, change?.model ?? e.key ?? '', { kind: 'alias-moved', alias: change?.alias ?? '', toVersion: change?.toVersion ?? 0 });
        })
        .on(DeploymentChangedSchema, (e) =>
          record(e, e.message.deployment?.model ?? e.key ?? '', { kind: 'deployment-changed', generation: e.message.deployment?.generation ?? 0 }),
        ),
    });
  }
}
