// The pure parts of the Kafka component: Java version parsing, cluster ids, server.properties.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJavaMajor } from '../jvm.mjs';
import { newClusterId, serverProperties } from '../kafka/component.mjs';

test('parseJavaMajor reads modern and legacy version strings', () => {
  assert.equal(parseJavaMajor('openjdk version "17.0.15" 2025-04-15'), 17);
  assert.equal(parseJavaMajor('openjdk version "21" 2023-09-19'), 21);
  assert.equal(parseJavaMajor('java version "1.8.0_392"'), 8);
  assert.equal(parseJavaMajor('no java here'), undefined);
});

test('newClusterId is a 22-char base64url Kafka Uuid that does not look like a flag', () => {
  for (let i = 0; i < 200; i++) {
    const id = newClusterId();
    assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  }
});

test('serverProperties: single KRaft node on loopback with one replica everywhere', () => {
  const props = Object.fromEntries(
    serverProperties('/data/kafka')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(/=(.*)/s).slice(0, 2)),
  );
  assert.equal(props['process.roles'], 'broker,controller');
  assert.equal(props.listeners, 'PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093');
  assert.equal(props['controller.quorum.bootstrap.servers'], '127.0.0.1:9093');
  assert.equal(props['log.dirs'], '/data/kafka');
  for (const key of [
    'offsets.topic.replication.factor',
    'transaction.state.log.replication.factor',
    'share.coordinator.state.topic.replication.factor',
  ]) {
    assert.equal(props[key], '1', key);
  }
  assert.equal(props['group.initial.rebalance.delay.ms'], '0');
  assert.equal(props['auto.create.topics.enable'], 'true');
});
