export type {
  BidiStreamingImpl,
  CallContext,
  ClientStreamingImpl,
  MethodImpl,
  ServerStreamingImpl,
  ServiceImpl,
  UnaryImpl,
} from './call.context.js';
export {
  createGrpcClient,
  DEFAULT_CLIENT_TIMEOUT_MS,
  type BidiStreamingCall,
  type CallOptions,
  type ClientMethod,
  type ClientStreamingCall,
  type GrpcClient,
  type GrpcClientOptions,
  type ServerStreamingCall,
  type UnaryCall,
} from './grpc.client.js';
export {
  alreadyExists,
  failedPrecondition,
  fromServiceError,
  GrpcError,
  invalidArgument,
  notFound,
  Status,
  statusName,
} from './grpc.error.js';
export {
  authorizeBearer,
  createGrpcServer,
  DEFAULT_MAX_MESSAGE_BYTES,
  type GrpcServer,
  type GrpcServerOptions,
  type ServerAuth,
  type ServiceOptions,
  type TokenVerifierLike,
} from './grpc.server.js';
export type { ServerTls } from './grpc.transport.js';
export { HealthStatuses } from './health.service.js';
export { metadataGetter, metadataSetter } from './trace.metadata.js';
export { methodPath, serviceDefinition } from './service.definition.js';
export { withUnimplemented } from './partial.impl.js';
