import { Platform } from '@aio/host';
import { Inject, Injectable } from '@nestjs/common';
import { Schema, type Model } from 'mongoose';

export interface AliasDoc {
  alias: string;
  version: number;
}

/** What the monitor knows about one model, learned from registry events; `_id` is the model name. */
export interface WatchedModelDoc {
  _id: string;
  /** Sorted ascending, no repeats. */
  versions: number[];
  // An array, not a map: alias names would become document keys, and the monitor does not vet them.
  aliases: AliasDoc[];
  /** Highest deployment generation seen; older DeploymentChanged events are stale. */
  deploymentGeneration: number;
  firstSeenAt: Date;
  lastSeenAt: Date;
  /** Distinct events applied. */
  eventCount: number;
  /**
   * Ids of the latest events applied, written in the same document write as their effect, so a
   * redelivery after a crash between the effect and the consumer's dedup record changes nothing.
   */
  recentEventIds: string[];
}

export type ApplyOutcome = 'created' | 'updated' | 'unchanged';

const COLLECTION = 'watched_models';

const aliasSchema = new Schema<AliasDoc>({ alias: String, version: Number }, { _id: false });

const watchedModelSchema = new Schema<WatchedModelDoc>(
  {
    _id: String,
    versions: { type: [Number], default: [] },
    aliases: { type: [aliasSchema], default: [] },
    deploymentGeneration: { type: Number, default: 0 },
    firstSeenAt: Date,
    lastSeenAt: Date,
    eventCount: { type: Number, default: 0 },
    recentEventIds: { type: [String], default: [] },
  },
  { collection: COLLECTION, versionKey: false },
);

/** The monitor's only I/O. Every write goes through the FerretDB write lock of its collection. */
@Injectable()
export class WatchedModelsRepository {
  readonly models: Model<WatchedModelDoc>;

  constructor(@Inject(Platform) private readonly platform: Platform) {
    this.models = platform.mongo.model<WatchedModelDoc>('WatchedModel', watchedModelSchema);
  }

  /**
   * Reads the model's document, lets `next` compute its new state (undefined = nothing to change) and
   * writes it back only if nobody else did meanwhile (guarded by eventCount); a lost race throws, so
   * the consumer retries the event against the fresh document.
   */
  async apply(name: string, next: (current: WatchedModelDoc | null) => WatchedModelDoc | undefined): Promise<ApplyOutcome> {
    return this.platform.locks.run(COLLECTION, async () => {
      const current = await this.find(name);
      const updated = next(current);
      if (updated === undefined) return 'unchanged';
      if (current === null) {
        await this.models.create(updated);
        return 'created';
      }
      const res = await this.models.replaceOne({ _id: name, eventCount: current.eventCount }, updated).exec();
      if (res.matchedCount !== 1) throw new Error(`watched model ${name} changed concurrently; the event will be retried`);
      return 'updated';
    });
  }

  find(name: string): Promise<WatchedModelDoc | null> {
    return this.models.findById(name).lean<WatchedModelDoc>().exec();
  }

  /** Up to `limit` models ordered by name, after `after` when given. */
  list(after: string | undefined, limit: number): Promise<WatchedModelDoc[]> {
    return this.models
      .find(after === undefined ? {} : { _id: { $gt: after } })
      .sort({ _id: 1 })
      .limit(limit)
      .lean<WatchedModelDoc[]>()
      .exec();
  }
}
