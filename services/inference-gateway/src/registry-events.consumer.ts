import { EventHandlers } from '@aio/events';
import { Platform } from '@aio/host';
import { AliasMovedSchema, DeploymentChangedSchema, ModelCreatedSchema, ModelVersionCreatedSchema } from '@aio/proto/aio/registry/v1/events';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { DeploymentsService } from './deployments.service.js';

const ignore = (): Promise<void> => Promise.resolve();

/** DeploymentChanged -> the gateway's deployments. The handler span continues the producer's trace (@aio/events). */
@Injectable()
export class RegistryEventsConsumer implements OnApplicationBootstrap {
  constructor(
    @Inject(Platform) private readonly platform: Platform,
    @Inject(DeploymentsService) private readonly deployments: DeploymentsService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // The platform created the shared topics (and DLQs) when it connected.
    const topic = this.platform.topics.registryEvents;
    await this.platform.subscribe({
      groupId: 'inference-gateway',
      topics: [topic],
      // A gateway started after the registry must still learn every deployment the topic retains.
      fromBeginning: true,
      handlers: new EventHandlers()
        .on(DeploymentChangedSchema, async (e) => {
          if (e.message.deployment === undefined) throw new Error(`DeploymentChanged ${e.id} carries no deployment`);
          await this.deployments.record(e.message.deployment, e.id);
        })
        // A deployment that follows an alias is served from wherever the alias now points.
        .on(AliasMovedSchema, async (e) => {
          const change = e.message.change;
          if (change !== undefined) await this.deployments.aliasMoved(change.model, change.alias);
        })
        // Registered so they are not logged as unknown types.
        .on(ModelCreatedSchema, ignore)
        .on(ModelVersionCreatedSchema, ignore),
    });
  }
}
