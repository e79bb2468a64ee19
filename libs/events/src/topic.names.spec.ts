import { describe, expect, it } from 'vitest';
import { dlqOf, topics } from './topic.names.js';

describe('topic names', () => {
  it('names every platform topic under the prefix', () => {
    const t = topics();
    expect([t.ingest('iris'), t.ingestDlq('iris'), t.dataEvents, t.registryEvents, t.trainingEvents, t.monitorEvents, t.inferenceLog, t.feedback]).toEqual([
      'aio.ingest.iris',
      'aio.ingest.iris.dlq',
      'aio.events.data',
      'aio.events.registry',
      'aio.events.training',
      'aio.events.monitor',
      'aio.inference.log',
      'aio.feedback',
    ]);
    expect(topics('staging').feedback).toBe('staging.feedback');
  });

  it('appends .dlq and refuses names Kafka would refuse', () => {
    expect(dlqOf('aio.events.data')).toBe('aio.events.data.dlq');
    expect(() => topics().ingest('my dataset')).toThrow(/illegal Kafka topic name/);
    expect(() => topics('a/b')).toThrow(/illegal/);
  });
});
