#!/usr/bin/env node
// Checks that kafkajs (the project's client) works against a running broker: topic creation, idempotent and
// gzip produce, topic auto-creation, a consumer group with manual offset commits, offset fetch, group description, a
// transaction, topic deletion. Cleans up after itself; exits non-zero on the first failure.
//   node deploy/local/kafka/smoke.mjs        (honours KAFKA_BROKERS, default 127.0.0.1:9092)
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';

const brokers = (process.env.KAFKA_BROKERS || '127.0.0.1:9092').split(',').map((s) => s.trim());
const run = `${Date.now()}-${process.pid}`;
const topic = `aio-smoke-${run}`;
const groupId = `aio-smoke-${run}`;
const N = 100;

const kafka = new Kafka({ clientId: `aio-smoke-${run}`, brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
const consumer = kafka.consumer({ groupId });
const step = (msg) => process.stdout.write(`ok  ${msg}\n`);

const watchdog = setTimeout(() => {
  process.stderr.write('smoke: timed out after 60 s\n');
  process.exit(1);
}, 60_000);

try {
  await admin.connect();
  const cluster = await admin.describeCluster();
  step(`describeCluster: ${cluster.brokers.length} broker(s), controller ${cluster.controller}, cluster ${cluster.clusterId}`);
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  step(`createTopics ${topic} (3 partitions)`);

  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: N }, (_, i) => ({ key: `k${i % 7}`, value: `v${i}`, headers: { ce_id: String(i) } })),
  });
  await producer.send({ topic, compression: CompressionTypes.GZIP, messages: [{ key: 'gz', value: 'gzipped' }] });
  step(`idempotent produce of ${N} + 1 gzip message(s)`);
  await producer.send({ topic: `${topic}-auto`, messages: [{ value: 'auto-created' }] });
  step(`produce to ${topic}-auto created it (auto.create.topics.enable)`);

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  await new Promise((resolve, reject) => {
    consumer
      .run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          await consumer.commitOffsets([{ topic, partition, offset: String(BigInt(message.offset) + 1n) }]);
          if (++seen === N + 1) resolve();
        },
      })
      .catch(reject);
  });
  step(`consumer group ${groupId} read ${seen} message(s), committing each offset`);

  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const committed = offsets.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
  if (committed !== N + 1) throw new Error(`committed offsets add up to ${committed}, expected ${N + 1}`);
  step(`fetchOffsets: committed offsets add up to ${committed}`);
  const { groups } = await admin.describeGroups([groupId]);
  step(`describeGroups: ${groups[0].state}`);

  const tx = kafka.producer({ transactionalId: `aio-smoke-${run}`, idempotent: true, maxInFlightRequests: 1 });
  await tx.connect();
  const t = await tx.transaction();
  await t.send({ topic, messages: [{ value: 'in a transaction' }] });
  await t.commit();
  await tx.disconnect();
  step('transaction committed');

  await consumer.disconnect();
  await producer.disconnect();
  await admin.deleteTopics({ topics: [topic, `${topic}-auto`] });
  step(`deleteTopics ${topic}, ${topic}-auto`);
  await admin.disconnect();
  clearTimeout(watchdog);
  process.stdout.write('kafka smoke: all checks passed\n');
} catch (err) {
  process.stderr.write(`kafka smoke FAILED: ${err.stack ?? err}\n`);
  process.exit(1);
}
