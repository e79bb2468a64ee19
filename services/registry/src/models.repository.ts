import { Platform } from '@aio/host';
import { ensureIndexes, outboxField, withOutbox, withOutboxOnCreate, type OutboxEntry } from '@aio/mongo';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { Schema, type Model, type mongo } from 'mongoose';

/** A model document: its own fields, alias moves, desired deployment, and pending events (outbox). */
export interface ModelDoc {
  _id: string;
  description: string;
  labels: Record<string, string>;
  aliases: Record<string, number>;
  latestVersion: number;
  createdAt: Date;
  createdBy: string;
  aliasHistory: AliasChangeDoc[];
  /** protobuf JSON of aio.registry.v1.Deployment */
  deployment?: Record<string, unknown>;
  outbox?: OutboxEntry[];
}

export interface AliasChangeDoc {
  alias: string;
  fromVersion: number;
  toVersion: number;
  reason: string;
  changedBy: string;
  changeTime: Date;
}

/** A version document; `data` is the protobuf JSON of aio.registry.v1.ModelVersion (the message is the DTO). */
export interface VersionDoc {
  _id: string;
  model: string;
  version: number;
  data: Record<string, unknown>;
  outbox?: OutboxEntry[];
}

const modelSchema = new Schema<ModelDoc>(
  {
    _id: String,
    description: String,
    labels: { type: Schema.Types.Mixed, default: {} },
    aliases: { type: Schema.Types.Mixed, default: {} },
    latestVersion: { type: Number, default: 0 },
    createdAt: Date,
    createdBy: String,
    aliasHistory: {
      type: [new Schema<AliasChangeDoc>({ alias: String, fromVersion: Number, toVersion: Number, reason: String, changedBy: String, changeTime: Date }, { _id: false })],
      default: [],
    },
    deployment: Schema.Types.Mixed,
    outbox: outboxField,
  },
  { collection: 'models', versionKey: false, minimize: false },
);

const versionSchema = new Schema<VersionDoc>(
  { _id: String, model: String, version: Number, data: Schema.Types.Mixed, outbox: outboxField },
  { collection: 'model_versions', versionKey: false },
);
versionSchema.index({ model: 1, version: -1 }, { unique: true });

/** The registry's only I/O. Every write goes through the FerretDB write lock of its collection. */
@Injectable()
export class ModelsRepository implements OnModuleInit {
  readonly models: Model<ModelDoc>;
  readonly versions: Model<VersionDoc>;

  constructor(@Inject(Platform) private readonly platform: Platform) {
    this.models = platform.mongo.model<ModelDoc>('Model', modelSchema);
    this.versions = platform.mongo.model<VersionDoc>('ModelVersion', versionSchema);
  }

  // The driver collections, typed with our string _ids (mongoose types them as ObjectId documents).
  private get modelDocs(): mongo.Collection<ModelDoc> {
    return this.models.collection as unknown as mongo.Collection<ModelDoc>;
  }

  private get versionDocs(): mongo.Collection<VersionDoc> {
    return this.versions.collection as unknown as mongo.Collection<VersionDoc>;
  }

  async onModuleInit(): Promise<void> {
    await ensureIndexes(this.versions, this.platform.logger);
  }

  /** Inserts the model with its ModelCreated entry; false when the name is taken. */
  async insertModel(doc: Omit<ModelDoc, 'outbox'>, event: OutboxEntry): Promise<boolean> {
    return this.platform.locks.run('models', async () => {
      const res = await this.modelDocs.updateOne({ _id: doc._id }, { $setOnInsert: withOutboxOnCreate(doc, event) }, { upsert: true });
      return res.upsertedCount === 1;
    });
  }

  findModel(name: string): Promise<ModelDoc | null> {
    return this.models.findById(name).lean<ModelDoc>().exec();
  }

  listModels(after: string | undefined, limit: number): Promise<ModelDoc[]> {
    return this.models
      .find(after === undefined ? {} : { _id: { $gt: after } })
      .sort({ _id: 1 })
      .limit(limit)
      .lean<ModelDoc[]>()
      .exec();
  }

  /** Reserves the next version number (a gap is left if the version insert then fails). */
  async nextVersion(model: string): Promise<number | undefined> {
    return this.platform.locks.run('models', async () => {
      const doc = await this.models.findOneAndUpdate({ _id: model }, { $inc: { latestVersion: 1 } }, { returnDocument: 'after' }).lean<ModelDoc>().exec();
      return doc?.latestVersion;
    });
  }

  async insertVersion(doc: Omit<VersionDoc, 'outbox'>, event: OutboxEntry): Promise<void> {
    await this.platform.locks.run('model_versions', () => this.versionDocs.insertOne(withOutboxOnCreate(doc, event)));
  }

  findVersion(model: string, version: number): Promise<VersionDoc | null> {
    return this.versions.findById(`${model}:${version}`).lean<VersionDoc>().exec();
  }

  listVersions(model: string, below: number | undefined, limit: number): Promise<VersionDoc[]> {
    return this.versions
      .find(below === undefined ? { model } : { model, version: { $lt: below } })
      .sort({ version: -1 })
      .limit(limit)
      .lean<VersionDoc[]>()
      .exec();
  }

  /**
   * Moves an alias only if it still points where the caller read it (optimistic check), recording
   * the move and its AliasMoved event in the same write. False when someone moved it meanwhile.
   */
  async moveAlias(model: string, change: AliasChangeDoc, event: OutboxEntry): Promise<boolean> {
    return this.platform.locks.run('models', async () => {
      const current = change.fromVersion === 0 ? { $exists: false } : change.fromVersion;
      const res = await this.modelDocs.updateOne(
        { _id: model, [`aliases.${change.alias}`]: current },
        withOutbox({ $set: { [`aliases.${change.alias}`]: change.toVersion }, $push: { aliasHistory: change } }, event),
      );
      return res.modifiedCount === 1;
    });
  }

  /** Replaces the deployment if its generation is still `expected`; false otherwise. */
  async replaceDeployment(model: string, expected: number, deployment: Record<string, unknown>, event: OutboxEntry): Promise<boolean> {
    return this.platform.locks.run('models', async () => {
      const guard = expected === 0 ? { 'deployment.generation': { $exists: false } } : { 'deployment.generation': expected };
      const res = await this.modelDocs.updateOne({ _id: model, ...guard }, withOutbox({ $set: { deployment } }, event));
      return res.modifiedCount === 1;
    });
  }
}
