// Apache Kafka 4.x, single KRaft node (broker + controller) on 127.0.0.1:9092 / controller 9093.
// The broker runtime is fetched from Maven Central with this folder's pom.xml into .infra/kafka/lib
// (Maven's own cache: .infra/m2), storage is formatted once, then `kafka.Kafka` runs in the foreground.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { checkJava, fetchJars, jdkBin } from '../jvm.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const POM = path.join(HERE, 'pom.xml');
const LOG4J2 = path.join(HERE, 'log4j2.properties');
const HOST = '127.0.0.1';
const BROKER_PORT = 9092;
const CONTROLLER_PORT = 9093;

export function serverProperties(dataDir) {
  return `# Written by deploy/local/kafka/component.mjs on every start: edit that file, not this one.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=${HOST}:${CONTROLLER_PORT}
listeners=PLAINTEXT://${HOST}:${BROKER_PORT},CONTROLLER://${HOST}:${CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://${HOST}:${BROKER_PORT},CONTROLLER://${HOST}:${CONTROLLER_PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${dataDir}

# One node: every internal topic has exactly one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
# Fewer internal partitions: faster first group join, less memory and fewer files.
offsets.topic.num.partitions=10
transaction.state.log.num.partitions=10

# Tests create consumer groups constantly: do not wait 3 s for more members to join.
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
num.partitions=1
delete.topic.enable=true

# Small machine: small thread pools.
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
num.replica.fetchers=1
log.cleaner.threads=1

# Keep the local disk bounded: a week or 1 GiB per partition, whichever comes first.
log.retention.hours=168
log.retention.bytes=1073741824
log.segment.bytes=104857600
`;
}

/** A Kafka Uuid as the storage tool expects it: 16 random bytes, base64url, not starting with '-'. */
export function newClusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function fetchBrokerJars(ctx) {
  return fetchJars(ctx, { pom: POM, who: 'Kafka', expect: ['kafka_2.13-'], size: '~55 MB' });
}

function javaArgs(ctx, mainClass, args) {
  return [
    '-Xms256m',
    '-Xmx512m',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${LOG4J2}`,
    '-cp',
    `${path.join(ctx.dir, 'lib')}${path.sep}*`,
    mainClass,
    ...args,
  ];
}

function propsFile(ctx) {
  return path.join(ctx.dir, 'server.properties');
}

function formatStorage(ctx, java) {
  // meta.properties is written by the storage tool: its presence means "formatted".
  if (existsSync(path.join(ctx.dataDir, 'meta.properties'))) return;
  ctx.progress(`formatting KRaft storage in ${ctx.dataDir}`);
  mkdirSync(ctx.dataDir, { recursive: true });
  const res = spawnSync(
    java,
    javaArgs(ctx, 'kafka.tools.StorageTool', ['format', '--standalone', '-t', newClusterId(), '-c', propsFile(ctx)]),
    { encoding: 'utf8', env: ctx.env, cwd: ctx.dir },
  );
  if (res.error || res.status !== 0) {
    const out = `${res.stdout ?? ''}${res.stderr ?? ''}`.trim().split('\n').slice(-20).join('\n');
    throw new Error(
      `Kafka storage format failed (exit ${res.status}). If ${ctx.dataDir} holds data from another setup, ` +
        `remove it (rm -rf ${ctx.dataDir}) and retry.\n${out}`,
    );
  }
}

/** A kafkajs admin client that fails fast: used by probe(). */
function admin(brokers) {
  const kafka = new Kafka({
    clientId: 'aio-infra-probe',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    requestTimeout: 5000,
    retry: { retries: 0 },
  });
  return kafka.admin();
}

export default {
  name: 'kafka',
  ports: [BROKER_PORT, CONTROLLER_PORT],
  endpointEnv: 'KAFKA_BROKERS',
  defaultEndpoint: `${HOST}:${BROKER_PORT}`,
  readyTimeoutMs: 60_000,

  async prepare(ctx) {
    const java = checkJava(ctx.env, 'Kafka');
    fetchBrokerJars(ctx);
    mkdirSync(ctx.dataDir, { recursive: true });
    writeFileSync(propsFile(ctx), serverProperties(ctx.dataDir));
    formatStorage(ctx, java);
  },

  spawnSpec(ctx) {
    return {
      command: jdkBin(ctx.env),
      args: javaArgs(ctx, 'kafka.Kafka', [propsFile(ctx)]),
      env: ctx.env,
      cwd: ctx.dir,
    };
  },

  async probe(ctx) {
    const endpoint = ctx.env.KAFKA_BROKERS || `${HOST}:${BROKER_PORT}`;
    const client = admin(endpoint.split(',').map((s) => s.trim()));
    try {
      await client.connect();
      const cluster = await client.describeCluster();
      // The controller must have registered the broker and elected itself before clients can work.
      if (!cluster.brokers.length || cluster.controller === null || cluster.controller < 0) return false;
      await client.fetchTopicMetadata({ topics: [] });
      return true;
    } catch {
      return false;
    } finally {
      await client.disconnect().catch(() => {});
    }
  },
};
