import type { EnvConfig, PlatformEnvSpec } from '@aio/config';
import {
  createPublisher,
  dlqOf,
  ensureTopics,
  subscribe,
  topics,
  type EventPublisher,
  type EventSubscriber,
  type TopicNames,
  type TypedSubscribeOptions,
} from '@aio/events';
import { connectMongo, detectServer, disconnectMongo, MongoDedupStore, OutboxRelay, WriteLocks, type OutboxSource } from '@aio/mongo';
import type { Logger, Telemetry } from '@aio/telemetry';
import type { DescMessage } from '@bufbuild/protobuf';
import type { BeforeApplicationShutdown, OnApplicationShutdown } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
// mongoose is CommonJS: its enums are reachable through the default export only.
import mongoose, { type Connection } from 'mongoose';
import { kafkaFrom, outboxPublisher } from './platform.wiring.js';
import type { Readiness } from './readiness.service.js';

export interface PlatformOptions {
  /** Service name: Kafka client id, CloudEvents source `aio/<service>`, Mongo app name. */
  service: string;
  config: EnvConfig<PlatformEnvSpec>;
  telemetry: Telemetry;
  /** The service's own database; each service owns one and reads no other. */
  database: string;
}

export type PlatformSubscribeOptions = Omit<TypedSubscribeOptions, 'logger' | 'dedup'>;

/**
 * The shared clients of one service process (Kafka, its publisher, the service's MongoDB database)
 * and their lifecycle: readiness checks while running, and on shutdown consumers stop first (the
 * message in hand finishes and is committed), then the outbox relay, then the connections.
 */
export class Platform implements BeforeApplicationShutdown, OnApplicationShutdown {
  readonly topics: TopicNames;
  readonly source: string;
  readonly logger: Logger;
  /** Serialises writes per collection on FerretDB, which loses concurrent updates of one document. */
  readonly locks: WriteLocks;
  private readonly subscribers: EventSubscriber[] = [];
  private relay: OutboxRelay | undefined;

  private constructor(
    readonly options: PlatformOptions,
    readonly kafka: Kafka,
    readonly publisher: EventPublisher,
    readonly mongo: Connection,
    onFerretDb: boolean,
  ) {
    this.topics = topics(options.config.AIO_TOPIC_PREFIX);
    this.source = `aio/${options.service}`;
    this.logger = options.telemetry.getLogger('platform');
    this.locks = new WriteLocks(onFerretDb);
  }

  static async connect(options: PlatformOptions, readiness: Readiness): Promise<Platform> {
    const logger = options.telemetry.getLogger('platform');
    const mongo = await connectMongo({
      uri: options.config.MONGODB_URI,
      dbName: options.database,
      appName: options.service,
      logger,
    });
    const server = await detectServer(mongo);
    const kafka = kafkaFrom(options.config, options.service, options.telemetry.getLogger('kafka'));
    await ensurePlatformTopics(kafka, topics(options.config.AIO_TOPIC_PREFIX));
    const publisher = createPublisher(kafka, { logger: options.telemetry.getLogger('kafka') });
    await publisher.connect();
    const platform = new Platform(options, kafka, publisher, mongo, server.kind === 'ferretdb');
    readiness.register('mongodb', () => Promise.resolve(mongo.readyState === mongoose.ConnectionStates.connected ? undefined : 'MongoDB connection is not open'));
    readiness.register('kafka-consumers', () => Promise.resolve(platform.consumerProblem()));
    logger.info('platform connected', { 'db.name': options.database, 'db.server': server.kind });
    return platform;
  }

  /**
   * Consumes with durable dedup by event id (this service's database remembers what it handled), in
   * the consumer group `groupId` scoped to the topic prefix (see consumerGroup).
   */
  async subscribe(options: PlatformSubscribeOptions): Promise<EventSubscriber> {
    const subscriber = await subscribe(this.kafka, {
      ...options,
      groupId: consumerGroup(this.topics.prefix, options.groupId),
      logger: this.options.telemetry.getLogger('kafka'),
      dedup: new MongoDedupStore({ connection: this.mongo, consumerGroup: options.groupId }),
    });
    this.subscribers.push(subscriber);
    return subscriber;
  }

  /** Starts relaying the outbox entries of these collections; `schemas` are the event types they carry. */
  startOutbox(sources: readonly OutboxSource[], schemas: readonly DescMessage[]): OutboxRelay {
    if (this.relay !== undefined) throw new Error('the outbox relay is already running');
    this.relay = new OutboxRelay({
      sources,
      publish: outboxPublisher(this.publisher, schemas, this.source),
      logger: this.options.telemetry.getLogger('outbox'),
      locks: this.locks,
    });
    this.relay.start();
    return this.relay;
  }

  /** Call after a write that added outbox entries: relays now instead of at the next poll. */
  nudgeOutbox(): void {
    this.relay?.nudge();
  }

  private consumerProblem(): string | undefined {
    return this.stopping ? 'consumers stopping' : undefined;
  }

  private stopping = false;

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.subscribers.map((s) => s.stop()));
    await this.relay?.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.publisher.disconnect();
    await disconnectMongo(this.mongo, this.logger);
  }
}

/**
 * kafkajs' assigners hand out every partition of the group's topics without regard to what each member
 * subscribed to, so two topic prefixes (a test run, the local mesh) must never share a group: the
 * default prefix keeps the plain name, any other prefix scopes it.
 */
export function consumerGroup(prefix: string, name: string): string {
  return prefix === 'aio' ? name : `${prefix}.${name}`;
}

/**
 * The platform's shared topics (and their DLQs) exist before anyone produces or joins a group on them:
 * broker-side auto-creation races consumers (kafkajs fails a join on a leaderless partition) and would
 * give DLQs a single partition. Idempotent; every service runs it at start.
 */
async function ensurePlatformTopics(kafka: Kafka, names: TopicNames): Promise<void> {
  const shared = [names.dataEvents, names.registryEvents, names.trainingEvents, names.monitorEvents, names.inferenceLog, names.feedback];
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [...shared, ...shared.map(dlqOf)], 3);
  } finally {
    await admin.disconnect();
  }
}
