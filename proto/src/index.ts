// Messages and services are imported by subpath (`@aio/proto/aio/registry/v1/registry`); the root
// only offers a registry of every aio file, for code that resolves a type name at run time (event
// consumers mapping ce_type to a schema, JSON encoding of Any).
import { createRegistry, type Registry } from '@bufbuild/protobuf';
import { file_aio_auth_v1_options } from './gen/aio/auth/v1/options_pb.js';
import { file_aio_gateway_v1_inference_log } from './gen/aio/gateway/v1/inference_log_pb.js';
import { file_aio_ingestion_v1_events } from './gen/aio/ingestion/v1/events_pb.js';
import { file_aio_ingestion_v1_ingestion } from './gen/aio/ingestion/v1/ingestion_pb.js';
import { file_aio_monitor_v1_events } from './gen/aio/monitor/v1/events_pb.js';
import { file_aio_monitor_v1_feedback } from './gen/aio/monitor/v1/feedback_pb.js';
import { file_aio_monitor_v1_monitor } from './gen/aio/monitor/v1/monitor_pb.js';
import { file_aio_registry_v1_events } from './gen/aio/registry/v1/events_pb.js';
import { file_aio_registry_v1_registry } from './gen/aio/registry/v1/registry_pb.js';
import { file_aio_trainer_v1_events } from './gen/aio/trainer/v1/events_pb.js';
import { file_aio_trainer_v1_trainer } from './gen/aio/trainer/v1/trainer_pb.js';
import { file_grpc_health_v1_health } from './gen/grpc/health/v1/health_pb.js';
import { file_inference_grpc_service } from './gen/inference/grpc_service_pb.js';
import { file_inference_model_config } from './gen/inference/model_config_pb.js';

// Every message, enum, service and extension of the contracts, by fully-qualified name.
export const protoRegistry: Registry = createRegistry(
  file_aio_auth_v1_options,
  file_aio_registry_v1_registry,
  file_aio_registry_v1_events,
  file_aio_ingestion_v1_ingestion,
  file_aio_ingestion_v1_events,
  file_aio_trainer_v1_trainer,
  file_aio_trainer_v1_events,
  file_aio_monitor_v1_monitor,
  file_aio_monitor_v1_events,
  file_aio_monitor_v1_feedback,
  file_aio_gateway_v1_inference_log,
  file_inference_model_config,
  file_inference_grpc_service,
  file_grpc_health_v1_health,
);
