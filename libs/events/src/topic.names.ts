/** The platform's topic names, one place so services cannot drift apart on spelling. */
export interface TopicNames {
  readonly prefix: string;
  ingest(dataset: string): string;
  ingestDlq(dataset: string): string;
  readonly dataEvents: string;
  readonly registryEvents: string;
  readonly trainingEvents: string;
  readonly monitorEvents: string;
  readonly inferenceLog: string;
  readonly feedback: string;
}

/** Kafka's own limit on topic names: 249 characters of [a-zA-Z0-9._-]. */
const legal = /^[a-zA-Z0-9._-]{1,249}$/;

function checked(name: string): string {
  if (!legal.test(name) || name === '.' || name === '..') {
    throw new Error(`illegal Kafka topic name "${name}": use 1-249 characters of a-z A-Z 0-9 . _ -`);
  }
  return name;
}

export function dlqOf(topic: string): string {
  return checked(`${topic}.dlq`);
}

export function topics(prefix = 'aio'): TopicNames {
  checked(prefix);
  const ingest = (dataset: string): string => checked(`${prefix}.ingest.${dataset}`);
  return {
    prefix,
    ingest,
    ingestDlq: (dataset) => dlqOf(ingest(dataset)),
    dataEvents: `${prefix}.events.data`,
    registryEvents: `${prefix}.events.registry`,
    trainingEvents: `${prefix}.events.training`,
    monitorEvents: `${prefix}.events.monitor`,
    inferenceLog: `${prefix}.inference.log`,
    feedback: `${prefix}.feedback`,
  };
}
