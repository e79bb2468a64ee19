export { startTelemetry, type Telemetry, type TelemetryOverrides } from './telemetry.sdk.js';
export { resolveTelemetryOptions, type TelemetryExport, type TelemetryOptions } from './telemetry.options.js';
export { getLogger, type LogAttributes, type Logger, type LogLevel } from './telemetry.logger.js';
export { nestLogger, type NestLoggerLike } from './nest.logger.js';
export { type DropReason, type ExportStats, type Signal, type SignalStats } from './export.counters.js';
export { createSearchClient, SearchRequestError, type BulkItemResult, type SearchBulkClient, type SearchConnectionOptions } from './search.client.js';
export { indexTemplates, type IndexTemplate } from './search.templates.js';
export { dataStreamName, dataStreamPart, logRecordToEcs, spanToEcs, type DataStreamTarget, type EcsDocument } from './ecs.mapper.js';
export { RateLimiter } from './rate.limiter.js';
