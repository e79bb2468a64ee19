import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createArtifactStore, resolveArtifactDir, type ArtifactStore } from '@aio/artifacts';
import { GrpcError, Status } from '@aio/grpc';
import { Platform } from '@aio/host';
import { newOutboxEntry } from '@aio/mongo';
import { DatasetSchemaSchema, type DatasetSchema } from '@aio/proto/aio/ingestion/v1/ingestion';
import { TrainingRunCompletedSchema, TrainingRunFailedSchema, TrainingRunStartedSchema } from '@aio/proto/aio/trainer/v1/events';
import { RunState, RunStateSchema, TrainingRunSchema, type TrainingRun } from '@aio/proto/aio/trainer/v1/trainer';
import type { Logger } from '@aio/telemetry';
import { create, fromJson, toBinary, toJson, type DescMessage, type JsonObject, type MessageShape } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { DatasetsService } from './datasets.service.js';
import { externalTrainerEnv } from './config.js';
import { featuresFromSchema, type DataRecord, type FeatureDef } from './engine/dataset.encoding.js';
import { referenceProfile } from './engine/reference.profile.js';
import { TrainingError } from './engine/training.error.js';
import { externalTrainerName } from './external.commands.js';
import { readExternalOutputs, runExternalCommand } from './external.trainer.js';
import { PromotionService } from './promotion.service.js';
import { RegistryClient } from './registry.client.js';
import { RunsRepository, type RunDoc } from './runs.repository.js';
import { TrainerSettings } from './trainer.settings.js';
import { trainInWorker, type TrainingOutcome } from './training.runner.js';

/** The trainer package (external commands run here, so relative script paths work): src/.. or dist/.. */
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

interface ExternalJob {
  readonly name: string;
  readonly run: TrainingRun;
  readonly schema: DatasetSchema;
  readonly features: readonly FeatureDef[];
  readonly exportPath: string;
  readonly rows: readonly DataRecord[];
  readonly attrs: Record<string, string>;
  /** Adds a line to the service log and the run's log. */
  readonly note: (message: string, extra?: Record<string, unknown>, level?: 'info' | 'warn') => void;
}

/** Lines kept in a run's own log (GetRun); the service log has everything. */
const RUN_LOG_LINES = 200;

export const stateName = (state: RunState): string => RunStateSchema.value[state]?.name ?? String(state);
const QUEUED = stateName(RunState.QUEUED);
const RUNNING = stateName(RunState.RUNNING);

export function runOf(doc: RunDoc): TrainingRun {
  return fromJson(TrainingRunSchema, doc.data as JsonObject, { ignoreUnknownFields: true });
}

/**
 * Executes queued runs one at a time (each in a worker thread): load the dataset version's export,
 * train, upload the model to the registry and register the version with its metrics, lineage and
 * reference profile, then the retrain policy's evaluation gate and promotion action. Every state change and its TrainingRun* event are one write. A run interrupted by a
 * shutdown goes back to the queue and starts again at the next start; nothing accepted is dropped.
 */
@Injectable()
export class RunExecutor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly queue: string[] = [];
  private current: { id: string; abort: AbortController } | undefined;
  private wake: (() => void) | undefined;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private readonly logger: Logger;
  private readonly store: ArtifactStore;

  constructor(
    @Inject(RunsRepository) private readonly runs: RunsRepository,
    @Inject(DatasetsService) private readonly datasets: DatasetsService,
    @Inject(RegistryClient) private readonly registry: RegistryClient,
    @Inject(Platform) private readonly platform: Platform,
    @Inject(TrainerSettings) private readonly settings: TrainerSettings,
    @Inject(PromotionService) private readonly promotion: PromotionService,
  ) {
    this.logger = platform.options.telemetry.getLogger('trainer.runs');
    this.store = createArtifactStore({ dir: resolveArtifactDir(settings.config.AIO_ARTIFACT_DIR) });
  }

  async onApplicationBootstrap(): Promise<void> {
    // A run that was running when the process died starts over; queued ones keep their order.
    for (const doc of await this.runs.inStates([RUNNING])) {
      const run = runOf(doc);
      run.state = RunState.QUEUED;
      await this.runs.transition(doc._id, [RUNNING], QUEUED, toJson(TrainingRunSchema, run) as JsonObject);
      this.logger.warn('run interrupted by a restart: queued again', { 'aio.run': doc._id });
    }
    for (const doc of await this.runs.inStates([QUEUED])) this.queue.push(doc._id);
    this.loop = this.run();
  }

  /** False when the queue is full (the caller answers RESOURCE_EXHAUSTED before storing anything). */
  hasRoom(): boolean {
    return this.queue.length < this.settings.config.TRAINER_QUEUE_LIMIT;
  }

  enqueue(id: string): void {
    this.queue.push(id);
    this.wake?.();
  }

  /** Stops a queued or running run: true when this process had it. */
  cancel(id: string): boolean {
    const at = this.queue.indexOf(id);
    if (at >= 0) {
      this.queue.splice(at, 1);
      return true;
    }
    if (this.current?.id === id) {
      this.current.abort.abort(new GrpcError(Status.CANCELLED, 'cancelled by request'));
      return true;
    }
    return false;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.current?.abort.abort(new Error('shutdown'));
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const id = this.queue.shift();
      if (id === undefined) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      try {
        await this.execute(id);
      } catch (err) {
        this.logger.error('run bookkeeping failed', { 'aio.run': id }, err);
      }
    }
  }

  private event<D extends DescMessage>(schema: D, run: TrainingRun, message: MessageShape<D>) {
    return newOutboxEntry({ topic: this.platform.topics.trainingEvents, key: run.model, type: schema.typeName, payload: toBinary(schema, message) });
  }

  private async execute(id: string): Promise<void> {
    const doc = await this.runs.find(id);
    if (doc === null || doc.state !== QUEUED) return;
    const run = runOf(doc);
    run.state = RunState.RUNNING;
    run.startTime = timestampFromDate(new Date());
    const started = this.event(TrainingRunStartedSchema, run, create(TrainingRunStartedSchema, { run }));
    if (!(await this.runs.transition(id, [QUEUED], RUNNING, toJson(TrainingRunSchema, run) as JsonObject, started))) return;
    this.platform.nudgeOutbox();
    const abort = new AbortController();
    this.current = { id, abort };
    const attrs = { 'aio.run': id, 'aio.model': run.model, 'aio.dataset': run.dataset, 'aio.trainer': run.trainer };
    // Each step goes to the service log and to the run's own log (bounded), which GetRun shows.
    const note = (message: string, extra: Record<string, unknown> = {}, level: 'info' | 'warn' = 'info'): void => {
      this.logger[level](message, { ...attrs, ...extra });
      run.log.push(`${new Date().toISOString()} ${message}`);
      if (run.log.length > RUN_LOG_LINES) run.log.splice(0, run.log.length - RUN_LOG_LINES);
    };
    const progress = (): Promise<boolean> => this.runs.transition(id, [RUNNING], RUNNING, toJson(TrainingRunSchema, run) as JsonObject);
    note(`run started: ${run.trainer} on ${run.dataset}@${run.datasetVersion || 'latest'}`);
    try {
      const version = await this.datasets.findVersion(run.dataset, run.datasetVersion);
      if (version === undefined || version.schema === undefined) throw new Error(`dataset version ${run.dataset}@${run.datasetVersion} is no longer known`);
      if (version.artifactSha256 === '') throw new Error(`dataset version ${run.dataset}@${version.version} has no export in the artifact store`);
      run.datasetVersion = version.version;
      const exportPath = await this.store.pathOf(version.artifactSha256);
      const rows = await this.loadRows(exportPath, `${run.dataset}@${version.version}`);
      note(`dataset ${run.dataset}@${version.version} loaded: ${rows.length} records`, { rows: rows.length });
      await progress();
      const features = featuresFromSchema(version.schema);
      const external = externalTrainerName(run.trainer);
      // Two ways to train; everything after (upload, register, gate, events) is one path.
      const outcome =
        external === undefined
          ? await trainInWorker({ trainer: run.trainer, hyperparameters: run.hyperparameters }, { features, label: version.schema.labelField, rows }, abort.signal)
          : await this.trainExternally({ name: external, run, schema: version.schema, features, exportPath, rows, attrs, note }, abort.signal);
      note(`model trained: ${Object.entries(outcome.metrics).map(([k, v]) => `${k}=${Number(v.toFixed(4))}`).join(' ')}`, Object.fromEntries(Object.entries(outcome.metrics).map(([k, v]) => [`metric.${k}`, v])));
      await progress();
      const registered = await this.registry.register({
        model: run.model,
        onnx: outcome.onnx,
        metrics: outcome.metrics,
        profile: outcome.profile,
        dataset: run.dataset,
        datasetVersion: run.datasetVersion,
        runId: id,
        description: `${run.trainer} on ${run.dataset}@${run.datasetVersion}`,
      });
      run.state = RunState.SUCCEEDED;
      run.metrics = outcome.metrics;
      run.modelVersion = registered.version;
      // The gate and the policy's action (when the model has a policy); its verdict rides on the SUCCEEDED write.
      note(`registered as ${run.model} v${registered.version}`);
      run.gateResult = await this.promotion.evaluate(run, registered.version);
      if (run.gateResult !== undefined) note(`gate ${run.gateResult.passed ? 'passed' : 'failed'}: ${run.gateResult.reason}`);
      run.endTime = timestampFromDate(new Date());
      await this.runs.transition(id, [RUNNING], stateName(RunState.SUCCEEDED), toJson(TrainingRunSchema, run) as JsonObject, this.event(TrainingRunCompletedSchema, run, create(TrainingRunCompletedSchema, { run })));
      this.logger.info('run succeeded', { ...attrs, 'aio.version': registered.version });
    } catch (err) {
      if (this.stopping) {
        // Shutdown, not failure: the run starts again after the restart.
        run.state = RunState.QUEUED;
        run.startTime = undefined;
        await this.runs.transition(id, [RUNNING], QUEUED, toJson(TrainingRunSchema, run) as JsonObject);
        this.logger.warn('run interrupted by shutdown: queued again', attrs);
        return;
      }
      const cancelled = abort.signal.aborted;
      run.state = cancelled ? RunState.CANCELLED : RunState.FAILED;
      run.error = cancelled ? 'cancelled by request' : err instanceof Error ? err.message : String(err);
      run.log.push(`${new Date().toISOString()} ${cancelled ? 'cancelled' : `failed: ${run.error}`}`);
      run.endTime = timestampFromDate(new Date());
      await this.runs.transition(id, [RUNNING], stateName(run.state), toJson(TrainingRunSchema, run) as JsonObject, this.event(TrainingRunFailedSchema, run, create(TrainingRunFailedSchema, { run })));
      if (cancelled) this.logger.info('run cancelled', attrs);
      else this.logger.error(`run failed: ${run.error}`, attrs, err);
    } finally {
      this.current = undefined;
      this.platform.nudgeOutbox();
    }
  }

  /** Names of the configured external trainers (`external:<name>`). */
  externalTrainers(): string[] {
    return Object.keys(this.settings.config.TRAINER_EXTERNAL_COMMANDS);
  }

  /**
   * Runs the configured command in a fresh directory and reads its model.onnx and metrics.json. The
   * reference profile covers the features (from the rows loaded here); the prediction column is left
   * out, since the trainer cannot run an arbitrary external model's graph generically.
   */
  private async trainExternally(job: ExternalJob, signal: AbortSignal): Promise<TrainingOutcome> {
    const argv = this.settings.config.TRAINER_EXTERNAL_COMMANDS[job.name];
    if (argv === undefined) {
      throw new TrainingError(`external trainer "${job.name}" is not configured (TRAINER_EXTERNAL_COMMANDS knows: ${this.externalTrainers().join(', ') || 'none'})`);
    }
    const outputDir = await mkdtemp(path.join(tmpdir(), 'aio-trainer-external-'));
    try {
      job.note(`external trainer started: ${argv.join(' ')}`);
      await runExternalCommand({
        argv,
        cwd: PACKAGE_DIR,
        env: {
          ...externalTrainerEnv(),
          AIO_DATASET_PATH: job.exportPath,
          AIO_DATASET_SCHEMA: JSON.stringify(toJson(DatasetSchemaSchema, job.schema)),
          AIO_LABEL_FIELD: job.schema.labelField,
          AIO_FEATURES: job.features.map((f) => f.name).join(','),
          AIO_HYPERPARAMETERS: JSON.stringify(job.run.hyperparameters),
          AIO_OUTPUT_DIR: outputDir,
        },
        timeoutMs: this.settings.config.TRAINER_EXTERNAL_TIMEOUT_SECONDS * 1000,
        signal,
        onLine: (stream, line) => job.note(`external trainer: ${line}`, { 'aio.command': argv.join(' ') }, stream === 'stderr' ? 'warn' : 'info'),
      });
      const { onnx, metrics } = await readExternalOutputs(outputDir);
      return { onnx, metrics, profile: referenceProfile(job.features, job.rows) };
    } finally {
      await rm(outputDir, { recursive: true, force: true });
    }
  }

  /** Reads the NDJSON export of a dataset version (one record per line: its fields, or `{ key, fields }`), bounded. */
  private async loadRows(file: string, what: string): Promise<DataRecord[]> {
    const max = this.settings.config.TRAINER_MAX_ROWS;
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    const rows: DataRecord[] = [];
    let n = 0;
    for await (const line of lines) {
      n += 1;
      if (line.trim() === '') continue;
      if (rows.length === max) throw new Error(`${what} has more than ${max} records; raise TRAINER_MAX_ROWS or train on a smaller version`);
      const value: unknown = JSON.parse(line);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} export line ${n} is not a JSON object`);
      const fields = (value as { fields?: unknown }).fields;
      rows.push((typeof fields === 'object' && fields !== null && !Array.isArray(fields) ? fields : value) as DataRecord);
    }
    return rows;
  }
}
