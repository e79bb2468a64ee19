import type { EventEnvelope } from '@aio/events';
import { GrpcError, notFound, Status } from '@aio/grpc';
import { Platform } from '@aio/host';
import { RecordBatchCommittedSchema } from '@aio/proto/aio/ingestion/v1/events';
import { DriftDetectedSchema } from '@aio/proto/aio/monitor/v1/events';
import { RetrainPolicySchema, RunState, RunTrigger, RunTriggerSchema, SubmitRunRequestSchema, type RetrainPolicy } from '@aio/proto/aio/trainer/v1/trainer';
import type { Logger } from '@aio/telemetry';
import { create, toJson, type JsonObject } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Inject, Injectable } from '@nestjs/common';
import { DatasetsService } from './datasets.service.js';
import { IngestionClient } from './ingestion.client.js';
import { PoliciesRepository } from './policies.repository.js';
import { parseCron } from './cron.schedule.js';
import { validateRetrainPolicy } from './policy.validator.js';
import { policyOf } from './promotion.service.js';
import { stateName } from './run.executor.js';
import { checkName } from './run.validator.js';
import { RunsRepository } from './runs.repository.js';
import { RunsService } from './runs.service.js';

const ACTIVE = [stateName(RunState.QUEUED), stateName(RunState.RUNNING)];

/** The subject recorded as created_by of the runs a policy starts. */
export const POLICY_SUBJECT = 'trainer:retrain-policy';

/**
 * Retrain policies: stored one per model, and the triggers that act on them (drift from the monitor,
 * new records from ingestion). A retrain snapshots the dataset through ingestion, records the version,
 * and submits a run; the gate and promotion happen when the run succeeds (PromotionService).
 */
@Injectable()
export class PoliciesService {
  private readonly logger: Logger;

  constructor(
    @Inject(PoliciesRepository) private readonly repository: PoliciesRepository,
    @Inject(RunsService) private readonly runs: RunsService,
    @Inject(RunsRepository) private readonly runDocs: RunsRepository,
    @Inject(DatasetsService) private readonly datasets: DatasetsService,
    @Inject(IngestionClient) private readonly ingestion: IngestionClient,
    @Inject(Platform) platform: Platform,
  ) {
    this.logger = platform.options.telemetry.getLogger('trainer.policies');
  }

  async set(policy: RetrainPolicy | undefined, subject: string): Promise<RetrainPolicy> {
    validateRetrainPolicy(policy);
    const stored = create(RetrainPolicySchema, { ...policy, updateTime: timestampFromDate(new Date()), updatedBy: subject });
    // Setting a policy restarts its schedule from now: no catch-up of firings from before it existed.
    await this.repository.put({ _id: stored.model, dataset: stored.dataset, data: toJson(RetrainPolicySchema, stored) as JsonObject, cron: stored.cron, cronLastFired: new Date() });
    this.logger.info('retrain policy set', { 'aio.model': stored.model, 'aio.dataset': stored.dataset, 'enduser.id': subject });
    return stored;
  }

  async get(model: string): Promise<RetrainPolicy> {
    checkName(model, 'model');
    const doc = await this.repository.find(model);
    if (doc === null) throw notFound('retrain policy', model);
    return policyOf(doc.data);
  }

  async delete(model: string): Promise<void> {
    checkName(model, 'model');
    if (!(await this.repository.delete(model))) throw notFound('retrain policy', model);
    this.logger.info('retrain policy deleted', { 'aio.model': model });
  }

  /** DriftDetected from the monitor: retrain the model when its policy says on_drift. */
  async onDriftDetected(event: EventEnvelope<typeof DriftDetectedSchema>): Promise<void> {
    const { model, version } = event.message;
    if (model === '') throw new Error(`DriftDetected ${event.id} carries no model`);
    const doc = await this.repository.find(model);
    if (doc === null) return;
    const policy = policyOf(doc.data);
    if (!policy.onDrift || predates(event, policy)) return;
    const features = event.message.features.map((f) => f.feature).join(', ');
    await this.retrain(policy, RunTrigger.DRIFT, `drift on ${model} v${version}${features === '' ? '' : ` (${features})`}`);
  }

  /** RecordBatchCommitted from ingestion: retrain every model whose policy's threshold the dataset reached. */
  async onRecordBatchCommitted(event: EventEnvelope<typeof RecordBatchCommittedSchema>): Promise<void> {
    const { dataset, recordsSinceVersion } = event.message;
    if (dataset === '') throw new Error(`RecordBatchCommitted ${event.id} carries no dataset`);
    for (const doc of await this.repository.forDataset(dataset)) {
      const policy = policyOf(doc.data);
      if (policy.onNewRecords === 0n || recordsSinceVersion < policy.onNewRecords || predates(event, policy)) continue;
      await this.retrain(policy, RunTrigger.DATA_VOLUME, `${recordsSinceVersion} records in ${dataset} since its latest version (threshold ${policy.onNewRecords})`);
    }
  }

  /**
   * Scheduled retrains that are due: for each policy with a cron schedule whose next firing after the
   * last one has come, claim the firing (once across replicas and restarts; missed firings while the
   * trainer was down collapse into one) and retrain.
   */
  async runDueSchedules(now: Date): Promise<void> {
    for (const doc of await this.repository.scheduled()) {
      const policy = policyOf(doc.data);
      if (policy.cron === '') continue;
      const due = parseCron(policy.cron).next(doc.cronLastFired ?? new Date(0));
      if (due === undefined || due > now) continue;
      if (!(await this.repository.claimFiring(doc._id, doc.cronLastFired, now))) continue;
      try {
        await this.retrain(policy, RunTrigger.SCHEDULE, `schedule "${policy.cron}" was due at ${due.toISOString()}`);
      } catch (err) {
        this.logger.error(`scheduled retrain of ${policy.model} failed: ${err instanceof Error ? err.message : String(err)}`, { 'aio.model': policy.model }, err);
      }
    }
  }

  /** Snapshot the dataset, record the version, submit the run; skipped while the model has a run. */
  private async retrain(policy: RetrainPolicy, trigger: RunTrigger, why: string): Promise<void> {
    const attrs = { 'aio.model': policy.model, 'aio.dataset': policy.dataset, 'aio.trigger': RunTriggerSchema.value[trigger]?.name ?? String(trigger) };
    const active = await this.runDocs.activeFor(policy.model, ACTIVE);
    if (active !== null) {
      this.logger.info(`retrain skipped: model ${policy.model} already has run ${active._id} (${active.state}); ${why}`, attrs);
      return;
    }
    if ((await this.datasets.find(policy.dataset)) === undefined) {
      // Thrown, so the subscriber retries (the DatasetCreated may still be on its way) and then parks it in the DLQ.
      throw new Error(`retrain of ${policy.model}: dataset "${policy.dataset}" is not known to the trainer; create it with ingestion's CreateDataset or fix the policy's dataset`);
    }
    this.logger.info(`retraining ${policy.model}: ${why}`, attrs);
    // A failure here is retried by the subscriber and then parked in the DLQ with this message.
    const version = await this.ingestion.createDatasetVersion(policy.dataset, `retrain of ${policy.model}: ${why}`).catch((err: unknown) => {
      throw new Error(`retrain of ${policy.model}: ingestion's CreateDatasetVersion for "${policy.dataset}" failed: ${err instanceof Error ? err.message : String(err)}`);
    });
    await this.datasets.recordVersion(version, 'CreateDatasetVersion');
    try {
      const run = await this.runs.submit(
        create(SubmitRunRequestSchema, { model: policy.model, dataset: policy.dataset, datasetVersion: version.version, trainer: policy.trainer, hyperparameters: policy.hyperparameters }),
        POLICY_SUBJECT,
        trigger,
      );
      this.logger.info(`retrain run ${run.id} queued on ${policy.dataset}@${version.version}`, { ...attrs, 'aio.run': run.id });
    } catch (err) {
      // Another trigger (or a person) submitted a run of this model meanwhile: one run per model.
      const raced = err instanceof GrpcError && err.code === Status.FAILED_PRECONDITION && (await this.runDocs.activeFor(policy.model, ACTIVE)) !== null;
      if (!raced) throw err;
      this.logger.info(`retrain skipped: ${err.message}`, attrs);
    }
  }
}

/** Events from before the policy was set (a new consumer group reads the topic from its start) do not trigger it. */
function predates(event: EventEnvelope, policy: RetrainPolicy): boolean {
  return event.time !== undefined && policy.updateTime !== undefined && event.time < timestampDate(policy.updateTime);
}
