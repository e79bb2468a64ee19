import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';
import type { HeaderMap } from './cloudevent.headers.js';

/** W3C trace context (traceparent / tracestate) written into and read from Kafka headers. */
export const headerSetter: TextMapSetter<HeaderMap> = {
  set(carrier, key, value) {
    carrier[key] = value;
  },
};

export const headerGetter: TextMapGetter<HeaderMap> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

export const messagingAttributes = {
  system: 'messaging.system',
  destination: 'messaging.destination.name',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  messageId: 'messaging.message.id',
  partition: 'messaging.destination.partition.id',
  key: 'messaging.kafka.message.key',
  offset: 'messaging.kafka.offset',
  consumerGroup: 'messaging.consumer.group.name',
  eventType: 'cloudevents.event_type',
} as const;
