import type { mongo } from 'mongoose';
import type { MongoLogger } from './mongo.logger.js';

type IndexSpec = Record<string, unknown>;
type IndexOptions = Record<string, unknown>;

// Options FerretDB 1.24 answers with "not implemented" (and index kinds below); MongoDB has them all.
const UNSUPPORTED_OPTIONS = ['expireAfterSeconds', 'partialFilterExpression', 'collation', 'wildcardProjection', 'hidden'];
const UNSUPPORTED_KINDS = new Set(['text', '2d', '2dsphere', 'hashed', 'geoHaystack']);
// Mongoose adds these to every schema index; they are not server options.
const MONGOOSE_ONLY = new Set(['background']);

/** Why an index cannot be created on FerretDB 1.24, or undefined when it can. Pure; exported for tests. */
export function unsupportedIndexReason(fields: IndexSpec, options: IndexOptions): string | undefined {
  for (const [path, kind] of Object.entries(fields)) {
    if (typeof kind === 'string' && UNSUPPORTED_KINDS.has(kind)) return `"${kind}" index on ${path}`;
    if (path.includes('$**')) return `wildcard index on ${path}`;
    if (kind !== 1 && kind !== -1) return `index direction ${JSON.stringify(kind)} on ${path} (use 1 or -1)`;
  }
  for (const option of UNSUPPORTED_OPTIONS) {
    if (options[option] !== undefined) return `option ${option}${option === 'expireAfterSeconds' ? ' (TTL: prune with a query instead)' : ''}`;
  }
  return undefined;
}

/**
 * Creates the schema's indexes (plain, compound, unique, sparse) after checking each is one FerretDB
 * supports, so the same schema runs on FerretDB and MongoDB. An unsupported index fails start-up with
 * its name rather than half-working on one server. Idempotent: existing identical indexes are kept.
 */
/** The parts of a mongoose Model that `ensureIndexes` uses; any `Model<T>` fits. */
export interface IndexedModel {
  readonly modelName: string;
  readonly schema: { indexes(): unknown[] };
  readonly collection: {
    readonly collectionName: string;
    createIndex(spec: mongo.IndexSpecification, options?: mongo.CreateIndexesOptions): Promise<string>;
  };
}

export async function ensureIndexes(model: IndexedModel, logger?: MongoLogger): Promise<string[]> {
  const indexes = model.schema.indexes() as [IndexSpec, IndexOptions][];
  const problems = indexes
    .map(([fields, options]) => ({ fields, reason: unsupportedIndexReason(fields, options) }))
    .filter((p): p is { fields: IndexSpec; reason: string } => p.reason !== undefined);
  if (problems.length > 0) {
    const list = problems.map((p) => `${JSON.stringify(p.fields)}: ${p.reason}`).join('; ');
    throw new Error(`model ${model.modelName} declares indexes FerretDB cannot build: ${list}`);
  }
  const names: string[] = [];
  for (const [fields, options] of indexes) {
    const serverOptions = Object.fromEntries(Object.entries(options).filter(([k]) => !MONGOOSE_ONLY.has(k)));
    // Directions were checked to be 1 or -1 by unsupportedIndexReason above.
    names.push(await model.collection.createIndex(fields as Record<string, 1 | -1>, serverOptions));
  }
  logger?.debug('indexes ensured', { model: model.modelName, collection: model.collection.collectionName, indexes: names });
  return names;
}
