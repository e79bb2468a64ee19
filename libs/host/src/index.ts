export { runService, type GrpcHost, type HostLogger, type RunServiceOptions, type RunningService } from './service.bootstrap.js';
export { Readiness, type ReadinessCheck, type ReadinessReport } from './readiness.service.js';
export { HttpErrorFilter } from './http-error.filter.js';
export { HealthController } from './health.controller.js';
export { MetricsSource } from './metrics-source.js';
export { Platform, type PlatformOptions, type PlatformSubscribeOptions } from './platform.service.js';
export { PlatformModule } from './platform.module.js';
export { Permission, RestAuthGuard } from './rest-auth.guard.js';
