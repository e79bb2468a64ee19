import { Platform } from '@aio/host';
import { isDuplicateKey, outboxField, withOutbox, type OutboxEntry } from '@aio/mongo';
import { ModelHealthSchema, type ModelHealth } from '@aio/proto/aio/monitor/v1/monitor';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { Inject, Injectable } from '@nestjs/common';
import { Schema, type Model } from 'mongoose';
import { bytesOf, versionKey } from '../reference-profiles.repository.js';

interface SnapshotDoc {
  /** `<model>:<version>`; version 0 is the model over all versions. */
  _id: string;
  model: string;
  version: number;
  /** aio.monitor.v1.ModelHealth, binary. */
  health: Buffer;
  savedAt: Date;
}

/** One rule of one model version: when it last fired, and the event announcing that (the outbox). */
export interface RuleFiringDoc {
  /** `<model>:<version>:<rule>`. */
  _id: string;
  model: string;
  version: number;
  rule: string;
  lastFiredAt: Date;
  firings: number;
  /** What the last firing saw, for a person reading the database. */
  summary: string;
  value: number;
  threshold: number;
  outbox?: OutboxEntry[];
}

const SNAPSHOTS = 'health_snapshots';
const FIRINGS = 'rule_firings';

const snapshotSchema = new Schema<SnapshotDoc>(
  { _id: String, model: String, version: Number, health: Buffer, savedAt: Date },
  { collection: SNAPSHOTS, versionKey: false },
);

const firingSchema = new Schema<RuleFiringDoc>(
  {
    _id: String,
    model: String,
    version: Number,
    rule: String,
    lastFiredAt: Date,
    firings: Number,
    summary: String,
    value: Number,
    threshold: Number,
    outbox: outboxField,
  },
  { collection: FIRINGS, versionKey: false },
);

export interface Firing {
  model: string;
  version: number;
  rule: string;
  summary: string;
  value: number;
  threshold: number;
  event: OutboxEntry;
}

/** Health snapshots (the last known health survives a restart) and rule firings with their events. */
@Injectable()
export class HealthRepository {
  readonly snapshots: Model<SnapshotDoc>;
  readonly firings: Model<RuleFiringDoc>;

  constructor(@Inject(Platform) private readonly platform: Platform) {
    this.snapshots = platform.mongo.model<SnapshotDoc>('HealthSnapshot', snapshotSchema);
    this.firings = platform.mongo.model<RuleFiringDoc>('RuleFiring', firingSchema);
  }

  async saveSnapshot(health: ModelHealth, at: Date): Promise<void> {
    const _id = versionKey(health.model, health.version);
    const doc = { model: health.model, version: health.version, health: Buffer.from(toBinary(ModelHealthSchema, health)), savedAt: at };
    await this.platform.locks.run(SNAPSHOTS, () => this.snapshots.updateOne({ _id }, { $set: doc }, { upsert: true }).exec());
  }

  async snapshot(model: string, version: number): Promise<ModelHealth | undefined> {
    const doc = await this.snapshots.findById(versionKey(model, version)).lean<SnapshotDoc>().exec();
    return doc === null ? undefined : fromBinary(ModelHealthSchema, bytesOf(doc.health));
  }

  /**
   * Records a firing and its event in ONE document write, unless the rule fired for this version less
   * than `cooldownMs` ago: the filter matches only a firing older than the cooldown, and when it does
   * not match the upsert's insert collides with the existing document (duplicate key = still cooling
   * down). Answers whether it fired.
   */
  async fire(firing: Firing, at: Date, cooldownMs: number): Promise<boolean> {
    const _id = `${versionKey(firing.model, firing.version)}:${firing.rule}`;
    const update = withOutbox(
      {
        $set: { model: firing.model, version: firing.version, rule: firing.rule, lastFiredAt: at, summary: firing.summary, value: firing.value, threshold: firing.threshold },
        $inc: { firings: 1 },
      },
      firing.event,
    );
    try {
      const res = await this.platform.locks.run(FIRINGS, () =>
        this.firings.updateOne({ _id, lastFiredAt: { $lte: new Date(at.getTime() - cooldownMs) } }, update, { upsert: true }).exec(),
      );
      return res.matchedCount === 1 || res.upsertedCount === 1;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  firingsOf(model: string, version: number): Promise<RuleFiringDoc[]> {
    return this.firings.find({ model, version }).lean<RuleFiringDoc[]>().exec();
  }
}
