export { ConfigError, type ConfigIssue } from './config.error.js';
export { bool, int, list, oneOf, port, redactUrl, secret, str, url, type Field, type FieldResult } from './env.field.js';
export { describeConfig, parseEnv, type EnvConfig, type EnvSource, type EnvSpec } from './env.parser.js';
export { platformEnvSpec, type PlatformEnvSpec } from './platform.env.js';
export { BATCHING_LIMITS } from './batching.limits.js';
