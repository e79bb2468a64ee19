import { failedPrecondition, GrpcError, notFound, Status } from '@aio/grpc';
import { pageSize, Platform } from '@aio/host';
import {
  RunState,
  RunStateSchema,
  TrainingRunSchema,
  type CancelRunRequest,
  type ListRunsRequest,
  type ListRunsResponse,
  type SubmitRunRequest,
  type TrainingRun,
} from '@aio/proto/aio/trainer/v1/trainer';
import { fromJson, type JsonObject } from '@bufbuild/protobuf';
import { Inject, Injectable } from '@nestjs/common';
import { DatasetsService } from './datasets.service.js';
import { decodeRunToken, encodeRunToken } from './run.token.js';
import { checkName, checkRunId, checkRunState, validateSubmitRun } from './run.validator.js';
import { RunsRepository, type RunDoc } from './runs.repository.js';

const TERMINAL = new Set([RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED]);

/** Training runs: reads now; submitting and cancelling real runs arrive with the lifecycle loop (issue #3). */
@Injectable()
export class RunsService {
  constructor(
    @Inject(RunsRepository) private readonly repository: RunsRepository,
    @Inject(DatasetsService) private readonly datasets: DatasetsService,
    @Inject(Platform) private readonly platform: Platform,
  ) {}

  async submit(request: SubmitRunRequest): Promise<TrainingRun> {
    validateSubmitRun(request);
    if ((await this.datasets.find(request.dataset)) === undefined) {
      throw failedPrecondition(
        `dataset "${request.dataset}" is not known to the trainer: create it with the ingestion service's CreateDataset ` +
          `(the trainer learns datasets from DatasetCreated events on ${this.platform.topics.dataEvents})`,
      );
    }
    throw new GrpcError(Status.UNIMPLEMENTED, 'SubmitRun arrives with the model lifecycle loop (issue #3)');
  }

  async get(id: string): Promise<TrainingRun> {
    checkRunId(id);
    const doc = await this.repository.find(id);
    if (doc === null) throw notFound('run', id);
    return runOf(doc);
  }

  async list(request: ListRunsRequest): Promise<Omit<ListRunsResponse, '$typeName'>> {
    if (request.model !== '') checkName(request.model, 'model');
    checkRunState(request.state);
    const size = pageSize(request.pageSize);
    const filter = {
      model: request.model === '' ? undefined : request.model,
      state: request.state === RunState.UNSPECIFIED ? undefined : stateName(request.state),
    };
    const docs = await this.repository.list(filter, decodeRunToken(request.pageToken), size + 1);
    const page = docs.slice(0, size);
    const last = page.at(-1);
    return {
      runs: page.map(runOf),
      nextPageToken: docs.length > size && last !== undefined ? encodeRunToken({ createTime: last.createTime, id: last._id }) : '',
    };
  }

  async cancel(request: CancelRunRequest): Promise<TrainingRun> {
    const run = await this.get(request.id);
    if (TERMINAL.has(run.state)) throw failedPrecondition(`run "${run.id}" already ended (${stateName(run.state)}); only queued or running runs can be cancelled`);
    throw new GrpcError(Status.UNIMPLEMENTED, 'CancelRun of a queued or running run arrives with the model lifecycle loop (issue #3)');
  }
}

function stateName(state: RunState): string {
  return RunStateSchema.value[state]?.name ?? String(state);
}

function runOf(doc: RunDoc): TrainingRun {
  return fromJson(TrainingRunSchema, doc.data as JsonObject, { ignoreUnknownFields: true });
}
