import { Platform } from '@aio/host';
import { ensureIndexes, outboxField, withOutbox, type OutboxEntry } from '@aio/mongo';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { Schema, type Model, type mongo } from 'mongoose';
import type { RunCursor } from './run.token.js';

/** A run document: `data` is the protobuf JSON of aio.trainer.v1.TrainingRun; the other fields are what queries filter on. */
export interface RunDoc {
  _id: string;
  model: string;
  /** RunState name, e.g. RUN_STATE_QUEUED. */
  state: string;
  createTime: Date;
  data: Record<string, unknown>;
  outbox?: OutboxEntry[];
}

export interface RunFilter {
  model?: string;
  state?: string;
}

const runSchema = new Schema<RunDoc>(
  {
    _id: String,
    model: { type: String, required: true },
    state: { type: String, required: true },
    createTime: { type: Date, required: true },
    data: { type: Schema.Types.Mixed, required: true },
    outbox: outboxField,
  },
  { collection: 'runs', versionKey: false, minimize: false },
);
runSchema.index({ createTime: -1, _id: -1 });
runSchema.index({ model: 1, createTime: -1 });

/** Training runs. Every state change is one document write carrying its TrainingRun* event (outbox). */
@Injectable()
export class RunsRepository implements OnModuleInit {
  readonly runs: Model<RunDoc>;

  constructor(@Inject(Platform) private readonly platform: Platform) {
    this.runs = platform.mongo.model<RunDoc>('Run', runSchema);
  }

  async onModuleInit(): Promise<void> {
    await ensureIndexes(this.runs, this.platform.logger);
  }

  private get docs(): mongo.Collection<RunDoc> {
    // The driver collection typed with our string _ids (mongoose types them as ObjectId documents).
    return this.runs.collection as unknown as mongo.Collection<RunDoc>;
  }

  async insert(doc: Omit<RunDoc, 'outbox'>): Promise<void> {
    await this.platform.locks.run('runs', () => this.docs.insertOne(doc));
  }

  /**
   * Moves a run from one of `from` to `state` with its new TrainingRun JSON (and event, when given), only
   * if it is still in one of `from`: false when another path (cancel, restart recovery) moved it first.
   */
  async transition(id: string, from: readonly string[], state: string, data: Record<string, unknown>, event?: OutboxEntry): Promise<boolean> {
    const update = { $set: { state, data } };
    const res = await this.platform.locks.run('runs', () =>
      this.docs.updateOne({ _id: id, state: { $in: [...from] } }, event === undefined ? update : withOutbox(update, event)),
    );
    return res.modifiedCount === 1;
  }

  /** Runs in any of these states, oldest first. */
  inStates(states: readonly string[]): Promise<RunDoc[]> {
    return this.runs.find({ state: { $in: [...states] } }).sort({ createTime: 1 }).lean<RunDoc[]>().exec();
  }

  /** A queued or running run of this model, if any (one run per model at a time). */
  activeFor(model: string, states: readonly string[]): Promise<RunDoc | null> {
    return this.runs.findOne({ model, state: { $in: [...states] } }).lean<RunDoc>().exec();
  }

  find(id: string): Promise<RunDoc | null> {
    return this.runs.findById(id).lean<RunDoc>().exec();
  }

  /** Newest first; `before` continues a previous page (strictly older runs, ties broken by id). */
  list(filter: RunFilter, before: RunCursor | undefined, limit: number): Promise<RunDoc[]> {
    const query: Record<string, unknown> = {};
    if (filter.model !== undefined) query['model'] = filter.model;
    if (filter.state !== undefined) query['state'] = filter.state;
    if (before !== undefined) {
      query['$or'] = [{ createTime: { $lt: before.createTime } }, { createTime: before.createTime, _id: { $lt: before.id } }];
    }
    return this.runs.find(query).sort({ createTime: -1, _id: -1 }).limit(limit).lean<RunDoc[]>().exec();
  }
}
