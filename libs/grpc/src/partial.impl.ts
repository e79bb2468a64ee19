import type { DescService } from '@bufbuild/protobuf';
import type { ServiceImpl } from './call.context.js';
import { GrpcError, Status } from './grpc.error.js';

/**
 * A full implementation from the methods given; every other method answers UNIMPLEMENTED naming itself.
 * For servers that serve part of a service (and for contract fakes of another service in tests).
 */
export function withUnimplemented<S extends DescService>(service: S, methods: Partial<ServiceImpl<S>>): ServiceImpl<S> {
  const impl: Record<string, unknown> = {};
  for (const [local, method] of Object.entries(service.method)) {
    impl[local] =
      (methods as Record<string, unknown>)[local] ?? (() => Promise.reject(new GrpcError(Status.UNIMPLEMENTED, `${service.typeName}/${method.name} is not implemented here`)));
  }
  return impl as ServiceImpl<S>;
}
