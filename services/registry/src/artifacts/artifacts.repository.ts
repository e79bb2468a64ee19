import { Platform } from '@aio/host';
import { Inject, Injectable } from '@nestjs/common';
import { Schema, type Model, type mongo } from 'mongoose';

/** An uploaded artifact; `data` is the protobuf JSON of aio.registry.v1.Artifact (the message is the DTO). */
export interface ArtifactDoc {
  /** The sha256. */
  _id: string;
  data: Record<string, unknown>;
}

const artifactSchema = new Schema<ArtifactDoc>({ _id: String, data: Schema.Types.Mixed }, { collection: 'artifacts', versionKey: false });

/** The `artifacts` collection: one document per sha256, written once. */
@Injectable()
export class ArtifactsRepository {
  readonly artifacts: Model<ArtifactDoc>;

  constructor(@Inject(Platform) private readonly platform: Platform) {
    this.artifacts = platform.mongo.model<ArtifactDoc>('Artifact', artifactSchema);
  }

  private get docs(): mongo.Collection<ArtifactDoc> {
    return this.artifacts.collection as unknown as mongo.Collection<ArtifactDoc>;
  }

  /** Records the artifact unless its sha256 already is; returns the stored document (first writer wins). */
  async insertOnce(doc: ArtifactDoc): Promise<{ doc: ArtifactDoc; created: boolean }> {
    return this.platform.locks.run('artifacts', async () => {
      const res = await this.docs.updateOne({ _id: doc._id }, { $setOnInsert: { data: doc.data } }, { upsert: true });
      if (res.upsertedCount === 1) return { doc, created: true };
      const existing = await this.find(doc._id);
      if (existing === null) throw new Error(`artifact ${doc._id} vanished between its upsert and its read`);
      return { doc: existing, created: false };
    });
  }

  find(sha256: string): Promise<ArtifactDoc | null> {
    return this.artifacts.findById(sha256).lean<ArtifactDoc>().exec();
  }
}
