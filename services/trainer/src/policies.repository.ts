import { Platform } from '@aio/host';
import { ensureIndexes } from '@aio/mongo';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { Schema, type Model } from 'mongoose';

/** A retrain policy: `_id` is the model name, `data` the protobuf JSON of aio.trainer.v1.RetrainPolicy. */
export interface PolicyDoc {
  _id: string;
  /** The dataset it retrains on: RecordBatchCommitted events find their policies by it. */
  dataset: string;
  data: Record<string, unknown>;
  /** The policy's cron expression ('' = no schedule), beside `data` so the scheduler can query it. */
  cron?: string;
  /** When the schedule last started a retrain (or the policy was set), so a restart neither repeats nor skips. */
  cronLastFired?: Date;
}

const COLLECTION = 'retrain_policies';

const policySchema = new Schema<PolicyDoc>(
  { _id: String, dataset: { type: String, required: true }, data: { type: Schema.Types.Mixed, required: true }, cron: String, cronLastFired: Date },
  { collection: COLLECTION, versionKey: false, minimize: false },
);
policySchema.index({ dataset: 1 });

/** Retrain policies, one per model. */
@Injectable()
export class PoliciesRepository implements OnModuleInit {
  readonly policies: Model<PolicyDoc>;

  constructor(@Inject(Platform) private readonly platform: Platform) {
    this.policies = platform.mongo.model<PolicyDoc>('RetrainPolicy', policySchema);
  }

  async onModuleInit(): Promise<void> {
    await ensureIndexes(this.policies, this.platform.logger);
  }

  async put(doc: PolicyDoc): Promise<void> {
    const { _id, ...fields } = doc;
    await this.platform.locks.run(COLLECTION, () => this.policies.updateOne({ _id }, { $set: fields }, { upsert: true }).exec());
  }

  /** True when there was a policy to delete. */
  async delete(model: string): Promise<boolean> {
    const res = await this.platform.locks.run(COLLECTION, () => this.policies.deleteOne({ _id: model }).exec());
    return res.deletedCount === 1;
  }

  find(model: string): Promise<PolicyDoc | null> {
    return this.policies.findById(model).lean<PolicyDoc>().exec();
  }

  /** Policies with a schedule. */
  scheduled(): Promise<PolicyDoc[]> {
    return this.policies.find({ cron: { $gt: '' } }).sort({ _id: 1 }).lean<PolicyDoc[]>().exec();
  }

  /** Marks a scheduled firing, only if nobody (another replica, an earlier tick) marked one since `seen`. */
  async claimFiring(model: string, seen: Date | undefined, now: Date): Promise<boolean> {
    const res = await this.platform.locks.run(COLLECTION, () =>
      this.policies.updateOne({ _id: model, cronLastFired: seen ?? { $exists: false } }, { $set: { cronLastFired: now } }).exec(),
    );
    return res.modifiedCount === 1;
  }

  forDataset(dataset: string): Promise<PolicyDoc[]> {
    return this.policies.find({ dataset }).sort({ _id: 1 }).lean<PolicyDoc[]>().exec();
  }
}
