import { failedPrecondition, GrpcError, notFound, Status } from '@aio/grpc';
import { pageSize, Platform } from '@aio/host';
import { randomUUID } from 'node:crypto';
import {
  RunState,
  RunTrigger,
  TrainingRunSchema,
  type CancelRunRequest,
  type ListRunsRequest,
  type ListRunsResponse,
  type SubmitRunRequest,
  type TrainingRun,
} from '@aio/proto/aio/trainer/v1/trainer';
import { create, toJson, type JsonObject } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Inject, Injectable } from '@nestjs/common';
import { DatasetsService } from './datasets.service.js';
import { decodeRunToken, encodeRunToken } from './run.token.js';
import { checkName, checkRunId, checkRunState, validateSubmitRun } from './run.validator.js';
import { RunExecutor, runOf, stateName } from './run.executor.js';
import { RunsRepository } from './runs.repository.js';

const TERMINAL = new Set([RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED]);

/** Training runs: submit (validated, one per model, bounded queue), get, list, cancel. RunExecutor runs them. */
@Injectable()
export class RunsService {
  constructor(
    @Inject(RunsRepository) private readonly repository: RunsRepository,
    @Inject(DatasetsService) private readonly datasets: DatasetsService,
    @Inject(Platform) private readonly platform: Platform,
    @Inject(RunExecutor) private readonly executor: RunExecutor,
  ) {}

  async submit(request: SubmitRunRequest, subject: string, trigger: RunTrigger = RunTrigger.MANUAL): Promise<TrainingRun> {
    validateSubmitRun(request, this.executor.externalTrainers());
    if ((await this.datasets.find(request.dataset)) === undefined) {
      throw failedPrecondition(
        `dataset "${request.dataset}" is not known to the trainer: create it with the ingestion service's CreateDataset ` +
          `(the trainer learns datasets from DatasetCreated events on ${this.platform.topics.dataEvents})`,
      );
    }
    const version = await this.datasets.findVersion(request.dataset, request.datasetVersion);
    if (version === undefined) {
      throw failedPrecondition(
        request.datasetVersion === 0
          ? `dataset "${request.dataset}" has no version yet: create one with the ingestion service's CreateDatasetVersion`
          : `dataset version ${request.dataset}@${request.datasetVersion} is not known to the trainer`,
      );
    }
    const active = await this.repository.activeFor(request.model, [stateName(RunState.QUEUED), stateName(RunState.RUNNING)]);
    if (active !== null) throw failedPrecondition(`model "${request.model}" already has run ${active._id} (${active.state}): one run per model at a time`);
    if (!this.executor.hasRoom()) throw new GrpcError(Status.RESOURCE_EXHAUSTED, 'the training queue is full; retry when runs have finished');
    const now = new Date();
    const run = create(TrainingRunSchema, {
      id: randomUUID(),
      model: request.model,
      dataset: request.dataset,
      datasetVersion: version.version,
      trainer: request.trainer,
      hyperparameters: request.hyperparameters,
      state: RunState.QUEUED,
      trigger,
      createTime: timestampFromDate(now),
      createdBy: subject,
    });
    await this.repository.insert({ _id: run.id, model: run.model, state: stateName(RunState.QUEUED), createTime: now, data: toJson(TrainingRunSchema, run) as JsonObject });
    this.executor.enqueue(run.id);
    return run;
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
    if (!this.executor.cancel(run.id)) {
      throw failedPrecondition(`run "${run.id}" is ${stateName(run.state)} but not held by this trainer instance; retry shortly`);
    }
    if (run.state === RunState.QUEUED) {
      run.state = RunState.CANCELLED;
      run.error = 'cancelled by request';
      run.endTime = timestampFromDate(new Date());
      await this.repository.transition(run.id, [stateName(RunState.QUEUED)], stateName(RunState.CANCELLED), toJson(TrainingRunSchema, run) as JsonObject);
      return run;
    }
    // A running run is stopped by the executor, which records CANCELLED when its worker has ended.
    return run;
  }
}


