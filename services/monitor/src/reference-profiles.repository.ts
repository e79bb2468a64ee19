import { Platform } from '@aio/host';
import { ReferenceProfileSchema, type ReferenceProfile } from '@aio/proto/aio/profile/v1/profile';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { Inject, Injectable } from '@nestjs/common';
import { mongo, Schema, type Model } from 'mongoose';
import { MonitorSettings } from './monitor.settings.js';

interface ProfileDoc {
  /** `<model>:<version>`. */
  _id: string;
  model: string;
  version: number;
  /** aio.profile.v1.ReferenceProfile, binary. */
  profile: Buffer;
  storedAt: Date;
}

const COLLECTION = 'reference_profiles';

/** How long "this version has no profile" is believed before the database is asked again. */
export const PROFILE_RECHECK_MS = 30_000;

const profileSchema = new Schema<ProfileDoc>(
  { _id: String, model: String, version: Number, profile: Buffer, storedAt: Date },
  { collection: COLLECTION, versionKey: false },
);

/** Bytes of a Buffer field as a lean read returns it (a BSON Binary) or as written (a Buffer). */
export function bytesOf(value: unknown): Uint8Array {
  if (value instanceof mongo.Binary) return value.buffer.subarray(0, value.position);
  if (value instanceof Uint8Array) return value;
  throw new Error(`expected binary data, found ${typeof value}`);
}

export function versionKey(model: string, version: number): string {
  return `${model}:${version}`;
}

/**
 * Reference profiles of model versions, learned from ModelVersionCreated, stored in the monitor's own
 * database and cached in memory for the versions in use (bounded by MONITOR_MAX_VERSIONS).
 */
@Injectable()
export class ReferenceProfilesRepository {
  readonly profiles: Model<ProfileDoc>;
  private readonly cache = new Map<string, { profile: ReferenceProfile | null; checkedAt: number }>();

  constructor(
    @Inject(Platform) private readonly platform: Platform,
    @Inject(MonitorSettings) private readonly settings: MonitorSettings,
  ) {
    this.profiles = platform.mongo.model<ProfileDoc>('ReferenceProfile', profileSchema);
  }

  /** Idempotent: a redelivered event writes the same document again. */
  async put(model: string, version: number, profile: ReferenceProfile): Promise<void> {
    const _id = versionKey(model, version);
    const doc = { model, version, profile: Buffer.from(toBinary(ReferenceProfileSchema, profile)), storedAt: new Date() };
    await this.platform.locks.run(COLLECTION, () => this.profiles.updateOne({ _id }, { $set: doc }, { upsert: true }).exec());
    this.remember(_id, profile);
  }

  /** The cached profile, without I/O: undefined when not loaded yet, null when the version has none. */
  cached(model: string, version: number): ReferenceProfile | null | undefined {
    return this.cache.get(versionKey(model, version))?.profile;
  }

  /**
   * The version's profile, from the cache or the database. A "none" is looked up again after
   * PROFILE_RECHECK_MS: another monitor replica may have consumed the version's event meanwhile.
   */
  async get(model: string, version: number, now = Date.now()): Promise<ReferenceProfile | null> {
    const key = versionKey(model, version);
    const hit = this.cache.get(key);
    if (hit !== undefined && (hit.profile !== null || now - hit.checkedAt < PROFILE_RECHECK_MS)) return hit.profile;
    const doc = await this.profiles.findById(key).lean<ProfileDoc>().exec();
    const profile = doc === null ? null : fromBinary(ReferenceProfileSchema, bytesOf(doc.profile));
    this.remember(key, profile);
    return profile;
  }

  private remember(key: string, profile: ReferenceProfile | null): void {
    this.cache.delete(key);
    this.cache.set(key, { profile, checkedAt: Date.now() });
    while (this.cache.size > this.settings.maxVersions) {
      const oldest = this.cache.keys().next();
      if (oldest.done === true) break;
      this.cache.delete(oldest.value);
    }
  }
}
