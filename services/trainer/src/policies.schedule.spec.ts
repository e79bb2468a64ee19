import type { Platform } from '@aio/host';
import { DatasetVersionSchema } from '@aio/proto/aio/ingestion/v1/ingestion';
import { RetrainPolicySchema, RunTrigger, TrainingRunSchema, type SubmitRunRequest } from '@aio/proto/aio/trainer/v1/trainer';
import { create, toJson, type JsonObject } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import type { DatasetsService } from './datasets.service.js';
import type { IngestionClient } from './ingestion.client.js';
import type { PoliciesRepository, PolicyDoc } from './policies.repository.js';
import { PoliciesService } from './policies.service.js';
import type { RunsRepository } from './runs.repository.js';
import type { RunsService } from './runs.service.js';

// runDueSchedules with fakes around it: which firings are due, claimed once, and what they submit.
function setup(cron: string, lastFired: Date) {
  const doc: PolicyDoc = {
    _id: 'churn',
    dataset: 'calls',
    cron,
    cronLastFired: lastFired,
    data: toJson(RetrainPolicySchema, create(RetrainPolicySchema, { model: 'churn', dataset: 'calls', trainer: 'builtin:logistic-regression', cron })) as JsonObject,
  };
  const submitted: { request: SubmitRunRequest; trigger: RunTrigger }[] = [];
  const repository = {
    scheduled: () => Promise.resolve([{ ...doc }]),
    claimFiring: (_model: string, seen: Date | undefined, now: Date) => {
      if (seen?.getTime() !== doc.cronLastFired?.getTime()) return Promise.resolve(false);
      doc.cronLastFired = now;
      return Promise.resolve(true);
    },
  } as unknown as PoliciesRepository;
  const runs = {
    submit: (request: SubmitRunRequest, _subject: string, trigger: RunTrigger) => {
      submitted.push({ request, trigger });
      return Promise.resolve(create(TrainingRunSchema, { id: `run-${submitted.length}` }));
    },
  } as unknown as RunsService;
  const runDocs = { activeFor: () => Promise.resolve(null) } as unknown as RunsRepository;
  const datasets = { find: () => Promise.resolve({ name: 'calls' }), recordVersion: () => Promise.resolve() } as unknown as DatasetsService;
  const ingestion = { createDatasetVersion: () => Promise.resolve(create(DatasetVersionSchema, { dataset: 'calls', version: 7 })) } as unknown as IngestionClient;
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
  const platform = { options: { telemetry: { getLogger: () => quiet } } } as unknown as Platform;
  return { svc: new PoliciesService(repository, runs, runDocs, datasets, ingestion, platform), submitted, doc };
}

describe('scheduled retraining', () => {
  it('retrains once when the schedule comes due, on a fresh dataset version, with trigger SCHEDULE', async () => {
    const { svc, submitted, doc } = setup('0 3 * * *', new Date('2026-11-26T02:00:00Z'));
    await svc.runDueSchedules(new Date('2026-11-26T02:59:00Z'));
    expect(submitted).toEqual([]);
    await svc.runDueSchedules(new Date('2026-11-26T03:00:10Z'));
    expect(submitted).toHaveLength(1);
    expect(submitted[0]?.trigger).toBe(RunTrigger.SCHEDULE);
    expect(submitted[0]?.request).toMatchObject({ model: 'churn', dataset: 'calls', datasetVersion: 7 });
    expect(doc.cronLastFired?.toISOString()).toBe('2026-11-26T03:00:10.000Z');
    await svc.runDueSchedules(new Date('2026-11-26T03:00:40Z'));
    expect(submitted).toHaveLength(1);
  });

  it('collapses firings missed while the trainer was down into one', async () => {
    const { svc, submitted } = setup('*/10 * * * *', new Date('2026-11-26T00:00:00Z'));
    await svc.runDueSchedules(new Date('2026-11-26T05:00:00Z'));
    await svc.runDueSchedules(new Date('2026-11-26T05:00:30Z'));
    expect(submitted).toHaveLength(1);
  });
});
