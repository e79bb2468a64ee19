import { Platform } from '@aio/host';
import { ensureIndexes } from '@aio/mongo';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { Schema, type Model } from 'mongoose';
import type { RunCursor } from './run.token.js';

/** A run document: `data` is the protobuf JSON of aio.trainer.v1.TrainingRun; the other fields are what queries filter on. */
export interface RunDoc {
  _id: string;
  model: string;
  /** RunState name, e.g. RUN_STATE_QUEUED. */
  state: string;
  createTime: Date;
  data: Record<string, unknown>;
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
  },
  { collection: 'runs', versionKey: false, minimize: false },
);
runSchema.index({ createTime: -1, _id: -1 });
runSchema.index({ model: 1, createTime: -1 });

/** Training runs; written by the lifecycle loop (issue #3), read here. */
@Injectable()
export class RunsRepository implements OnModuleInit {
  readonly runs: Model<RunDoc>;

  constructor(@Inject(Platform) private readonly platform: Platform) {
    this.runs = platform.mongo.model<RunDoc>('Run', runSchema);
  }

  async onModuleInit(): Promise<void> {
    await ensureIndexes(this.runs, this.platform.logger);
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
