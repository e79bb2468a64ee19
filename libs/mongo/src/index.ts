export { isDuplicateKey, MongoDedupStore, type MongoDedupStoreOptions } from './dedup.store.js';
export { ensureIndexes, unsupportedIndexReason, type IndexedModel } from './index.ensurer.js';
export {
  connectMongo,
  describeConnectError,
  detectServer,
  disconnectMongo,
  redactMongoUri,
  type ConnectMongoOptions,
  type MongoServerInfo,
} from './mongo.connection.js';
export { silentLogger, type MongoLogger } from './mongo.logger.js';
export {
  newOutboxEntry,
  OUTBOX_FIELD,
  outboxEntrySchema,
  outboxField,
  outboxPush,
  withOutbox,
  withOutboxOnCreate,
  type NewOutboxEntry,
  type OutboxEntry,
  type UpdateDocument,
} from './outbox.entry.js';
export {
  OutboxRelay,
  type OutboxOrigin,
  type OutboxPassResult,
  type OutboxPublish,
  type OutboxRelayOptions,
  type OutboxRelayStats,
  type OutboxSource,
} from './outbox.relay.js';
export { WriteLocks } from './write.locks.js';
