import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import { consoleLogger, type EventsLogger } from './logger.console.js';

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

export interface KafkaOptions {
  brokers: string[];
  clientId: string;
  /** TLS to the brokers with the system CAs; pass `tls` for custom CAs or client certificates. */
  ssl?: boolean;
  tls?: Exclude<KafkaConfig['ssl'], boolean | undefined>;
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
  logger?: EventsLogger;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

function saslOf(sasl: NonNullable<KafkaOptions['sasl']>): SASLOptions {
  // kafkajs types each mechanism as its own literal union member; spelled out so tsc can narrow.
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username: sasl.username, password: sasl.password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username: sasl.username, password: sasl.password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username: sasl.username, password: sasl.password };
  }
}

/** Builds the kafkajs client; its own log lines (warn and error only) go to our logger. */
export function createKafka(options: KafkaOptions): Kafka {
  if (options.brokers.length === 0) throw new Error('createKafka: brokers must name at least one host:port');
  const logger = options.logger ?? consoleLogger();
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => {
      const { message, ...attrs } = entry.log;
      const text = entry.namespace === undefined || entry.namespace === '' ? `kafkajs: ${message}` : `kafkajs ${entry.namespace}: ${message}`;
      const fields = { ...attrs, clientId: options.clientId };
      if (entry.level === logLevel.ERROR) logger.error(text, fields);
      else if (entry.level === logLevel.WARN) logger.warn(text, fields);
    },
  };
  if (options.tls !== undefined) config.ssl = options.tls;
  else if (options.ssl === true) config.ssl = true;
  if (options.sasl !== undefined) config.sasl = saslOf(options.sasl);
  if (options.connectionTimeoutMs !== undefined) config.connectionTimeout = options.connectionTimeoutMs;
  if (options.requestTimeoutMs !== undefined) config.requestTimeout = options.requestTimeoutMs;
  return new Kafka(config);
}
