import { Platform } from '@aio/host';
import { Inject, Injectable } from '@nestjs/common';
import { Schema, type Model } from 'mongoose';

/** The desired serving state of one model as the registry last announced it; `_id` is the model name. */
export interface DeploymentDoc {
  _id: string;
  generation: number;
  /** protobuf JSON of aio.registry.v1.Deployment (the message is the DTO). */
  deployment: Record<string, unknown>;
  updatedAt: Date;
}

export type StoreOutcome = 'created' | 'updated' | 'stale';

const COLLECTION = 'deployments';

const deploymentSchema = new Schema<DeploymentDoc>(
  { _id: String, generation: Number, deployment: Schema.Types.Mixed, updatedAt: Date },
  { collection: COLLECTION, versionKey: false, minimize: false },
);

/** The gateway's only I/O. Every write goes through the FerretDB write lock of its collection. */
@Injectable()
export class DeploymentsRepository {
  readonly deployments: Model<DeploymentDoc>;

  constructor(@Inject(Platform) private readonly platform: Platform) {
    this.deployments = platform.mongo.model<DeploymentDoc>('Deployment', deploymentSchema);
  }

  /**
   * Stores the deployment unless one of the same or a later generation is already there, which makes
   * redelivered and reordered DeploymentChanged events harmless. A lost race throws (the consumer retries).
   */
  async store(doc: DeploymentDoc): Promise<StoreOutcome> {
    return this.platform.locks.run(COLLECTION, async () => {
      const current = await this.find(doc._id);
      if (current !== null && current.generation >= doc.generation) return 'stale';
      if (current === null) {
        await this.deployments.create(doc);
        return 'created';
      }
      const res = await this.deployments.replaceOne({ _id: doc._id, generation: current.generation }, doc).exec();
      if (res.matchedCount !== 1) throw new Error(`deployment of ${doc._id} changed concurrently; the event will be retried`);
      return 'updated';
    });
  }

  find(model: string): Promise<DeploymentDoc | null> {
    return this.deployments.findById(model).lean<DeploymentDoc>().exec();
  }

  /** Every known deployment, by model name. The index is small: one document per deployed model. */
  all(): Promise<DeploymentDoc[]> {
    return this.deployments.find({}).sort({ _id: 1 }).lean<DeploymentDoc[]>().exec();
  }
}
