import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { ParseArgsConfig } from 'node:util';
import { mintTokenCommand } from '@aio/auth';
import {
  DatasetSchema$ as DatasetMessage,
  DatasetSchemaSchema,
  IngestionService,
  IngestRecordsRequestSchema,
  RecordSchema,
  type IngestRecordsRequest,
  type Record as IngestRecord,
} from '@aio/proto/aio/ingestion/v1/ingestion';
import { RegistryService, ModelSchema, ModelVersionSchema, AliasChangeSchema } from '@aio/proto/aio/registry/v1/registry';
import { PromotionAction, RetrainPolicySchema, RunState, TrainerService, TrainingRunSchema } from '@aio/proto/aio/trainer/v1/trainer';
import { GRPCInferenceService } from '@aio/proto/inference/grpc_service';
import { create, fromJson, toJson, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import { CliError, UsageError } from './cli.errors.js';
import { table, type CliContext } from './cli.context.js';
import { runLifecycleScenario } from './demo.scenario.js';
import { tailTopic } from './tail.command.js';

type Values = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  /** Words that select it, e.g. ['models', 'list']. */
  path: string[];
  /** Positional arguments and options, as printed in help. */
  args: string;
  summary: string;
  options?: ParseArgsConfig['options'];
  run(ctx: CliContext, positionals: string[], values: Values): Promise<void>;
}

function need(positionals: string[], count: number, args: string): void {
  if (positionals.length !== count) throw new UsageError(`expected ${args}`);
}

function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function uint(value: string, what: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new UsageError(`${what} must be a non-negative integer, got "${value}"`);
  return Number(value);
}

const ts = (t: { seconds: bigint } | undefined): string => (t ? new Date(Number(t.seconds) * 1000).toISOString() : '-');

const INGEST_BATCH = 500;

export const COMMANDS: Command[] = [
  {
    path: ['models', 'list'],
    args: '',
    summary: 'models with their aliases and latest version',
    async run(ctx) {
      const { models } = await ctx.client(RegistryService, 'registry').listModels({ pageSize: 1000 });
      ctx.print(
        models.map((m) => toJson(ModelSchema, m)),
        () => table(['MODEL', 'LATEST', 'ALIASES', 'CREATED'], models.map((m) => [m.name, String(m.latestVersion), Object.entries(m.aliases).map(([a, v]) => `${a}=${v}`).join(' '), ts(m.createTime)])),
      );
    },
  },
  {
    path: ['models', 'create'],
    args: '<name> [--description <text>]',
    summary: 'register a model name',
    options: { description: { type: 'string' } },
    async run(ctx, p, v) {
      need(p, 1, '<name>');
      const { model } = await ctx.client(RegistryService, 'registry').createModel({ name: p[0], description: str(v, 'description') ?? '' });
      ctx.print(model ? toJson(ModelSchema, model) : null, () => `created model ${model?.name ?? p[0]}`);
    },
  },
  {
    path: ['models', 'get'],
    args: '<name>',
    summary: 'one model',
    async run(ctx, p) {
      need(p, 1, '<name>');
      const { model } = await ctx.client(RegistryService, 'registry').getModel({ name: p[0] });
      ctx.print(model ? toJson(ModelSchema, model) : null, () => JSON.stringify(model ? toJson(ModelSchema, model) : null, null, 2));
    },
  },
  {
    path: ['versions', 'list'],
    args: '<model>',
    summary: "a model's versions, newest first, with metrics and lineage",
    async run(ctx, p) {
      need(p, 1, '<model>');
      const { versions } = await ctx.client(RegistryService, 'registry').listModelVersions({ model: p[0], pageSize: 1000 });
      ctx.print(
        versions.map((x) => toJson(ModelVersionSchema, x)),
        () =>
          table(
            ['VERSION', 'ARTIFACT', 'METRICS', 'DATASET', 'RUN', 'CREATED'],
            versions.map((x) => [
              String(x.version),
              x.artifactSha256.slice(0, 12),
              Object.entries(x.metrics).map(([k, m]) => `${k}=${m.toFixed(4)}`).join(' '),
              x.lineage ? `${x.lineage.dataset}@${x.lineage.datasetVersion}` : '-',
              x.lineage?.trainingRunId || '-',
              ts(x.createTime),
            ]),
          ),
      );
    },
  },
  {
    path: ['alias', 'set'],
    args: '<model> <alias> <version> [--reason <text>]',
    summary: 'point an alias (champion, challenger, ...) at a version',
    options: { reason: { type: 'string' } },
    async run(ctx, p, v) {
      need(p, 3, '<model> <alias> <version>');
      const [model = '', alias = '', version = ''] = p;
      const { change } = await ctx.client(RegistryService, 'registry').setAlias({ model, alias, version: uint(version, '<version>'), reason: str(v, 'reason') ?? 'cli' });
      ctx.print(change ? toJson(AliasChangeSchema, change) : null, () => `${model}@${alias}: ${change?.fromVersion || '-'} -> ${change?.toVersion ?? version}`);
    },
  },
  {
    path: ['alias', 'history'],
    args: '<model> [--alias <name>]',
    summary: 'every move of the aliases: what served when',
    options: { alias: { type: 'string' } },
    async run(ctx, p, v) {
      need(p, 1, '<model>');
      const { changes } = await ctx.client(RegistryService, 'registry').getAliasHistory({ model: p[0], alias: str(v, 'alias') ?? '', pageSize: 1000 });
      ctx.print(
        changes.map((c) => toJson(AliasChangeSchema, c)),
        () => table(['WHEN', 'ALIAS', 'FROM', 'TO', 'BY', 'REASON'], changes.map((c) => [ts(c.changeTime), c.alias, String(c.fromVersion || '-'), String(c.toVersion), c.changedBy, c.reason])),
      );
    },
  },
  {
    path: ['datasets', 'list'],
    args: '',
    summary: 'datasets and their schemas',
    async run(ctx) {
      const { datasets } = await ctx.client(IngestionService, 'ingestion').listDatasets({ pageSize: 1000 });
      ctx.print(
        datasets.map((d) => toJson(DatasetMessage, d)),
        () => table(['DATASET', 'FIELDS', 'KEY', 'LABEL'], datasets.map((d) => [d.name, String(d.schema?.fields.length ?? 0), d.schema?.keyField || '-', d.schema?.labelField || '-'])),
      );
    },
  },
  {
    path: ['datasets', 'create'],
    args: '<name> --schema <schema.json> [--description <text>]',
    summary: 'define a dataset from a schema file (protobuf JSON of aio.ingestion.v1.DatasetSchema)',
    options: { schema: { type: 'string' }, description: { type: 'string' } },
    async run(ctx, p, v) {
      need(p, 1, '<name>');
      const file = str(v, 'schema');
      if (file === undefined) throw new UsageError('--schema <schema.json> is required');
      let schema;
      try {
        schema = fromJson(DatasetSchemaSchema, JSON.parse(await readFile(file, 'utf8')) as JsonValue);
      } catch (err) {
        throw new CliError(`${file}: ${err instanceof Error ? err.message : String(err)}`);
      }
      const { dataset } = await ctx.client(IngestionService, 'ingestion').createDataset({ name: p[0], description: str(v, 'description') ?? '', schema });
      ctx.print(dataset ? toJson(DatasetMessage, dataset) : null, () => `created dataset ${p[0]} (${schema.fields.length} fields)`);
    },
  },
  {
    path: ['ingest'],
    args: '<dataset> <file.ndjson>',
    summary: 'stream a file of JSON records (one per line) into a dataset, with progress',
    async run(ctx, p) {
      need(p, 2, '<dataset> <file.ndjson>');
      const [dataset = '', file = ''] = p;
      let sent = 0;
      async function* batches(): AsyncIterable<IngestRecordsRequest> {
        const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
        let records: IngestRecord[] = [];
        let lineNo = 0;
        for await (const line of lines) {
          lineNo += 1;
          if (line.trim() === '') continue;
          let fields: unknown;
          try {
            fields = JSON.parse(line);
          } catch (err) {
            throw new CliError(`${file}:${lineNo}: not JSON (${err instanceof Error ? err.message : String(err)})`);
          }
          if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw new CliError(`${file}:${lineNo}: a record must be a JSON object`);
          records.push(create(RecordSchema, { dataset, fields: fields as JsonObject }));
          if (records.length === INGEST_BATCH) {
            sent += records.length;
            yield create(IngestRecordsRequestSchema, { records });
            records = [];
            ctx.output.err(`ingest: ${sent} records sent`);
          }
        }
        if (records.length > 0) {
          sent += records.length;
          yield create(IngestRecordsRequestSchema, { records });
        }
      }
      const res = await ctx.client(IngestionService, 'ingestion').ingestRecords(batches());
      ctx.print(
        { sent, accepted: Number(res.accepted), rejected: Number(res.rejected), duplicates: Number(res.duplicates), rejections: res.rejections.slice(0, 100).map((r) => ({ index: Number(r.index), field: r.field, reason: r.reason })) },
        () =>
          [`${sent} sent: ${res.accepted} accepted, ${res.rejected} rejected, ${res.duplicates} duplicates`, ...res.rejections.slice(0, 20).map((r) => `  record ${r.index}: ${r.field}: ${r.reason}`)].join('\n'),
      );
    },
  },
  {
    path: ['runs', 'list'],
    args: '',
    summary: 'training runs, newest first',
    async run(ctx) {
      const { runs } = await ctx.client(TrainerService, 'trainer').listRuns({ pageSize: 1000 });
      ctx.print(
        runs.map((r) => toJson(TrainingRunSchema, r)),
        () => table(['RUN', 'MODEL', 'DATASET', 'STATE', 'VERSION'], runs.map((r) => [r.id, r.model, `${r.dataset}@${r.datasetVersion}`, RunState[r.state] ?? String(r.state), String(r.modelVersion || '-')])),
      );
    },
  },
  {
    path: ['runs', 'get'],
    args: '<run-id>',
    summary: "one run: state, metrics, the version it produced, the gate's verdict and its log",
    async run(ctx, p) {
      need(p, 1, '<run-id>');
      const { run } = await ctx.client(TrainerService, 'trainer').getRun({ id: p[0] });
      if (run === undefined) throw new CliError(`run ${p[0]} came back empty`);
      ctx.print(toJson(TrainingRunSchema, run), () =>
        [
          `${run.id}  ${RunState[run.state] ?? run.state}  ${run.model} v${run.modelVersion || '-'}  ${run.dataset}@${run.datasetVersion}  ${run.trainer}`,
          `metrics: ${Object.entries(run.metrics).map(([k, m]) => `${k}=${m.toFixed(4)}`).join(' ') || '-'}`,
          ...(run.gateResult ? [`gate: ${run.gateResult.passed ? 'passed' : 'failed'}: ${run.gateResult.reason}`] : []),
          ...(run.error ? [`error: ${run.error}`] : []),
          ...run.log.map((l) => `  ${l}`),
        ].join('\n'),
      );
    },
  },
  {
    path: ['train'],
    args: '<dataset> --model <name> --trainer <kind> [--dataset-version <n>] [--param key=value ...]',
    summary: 'start a training run',
    options: { model: { type: 'string' }, trainer: { type: 'string' }, 'dataset-version': { type: 'string' }, param: { type: 'string', multiple: true } },
    async run(ctx, p, v) {
      need(p, 1, '<dataset>');
      const model = str(v, 'model');
      const trainer = str(v, 'trainer');
      if (!model || !trainer) throw new UsageError('--model and --trainer are required');
      const hyperparameters = params(v);
      const version = str(v, 'dataset-version');
      const { run } = await ctx.client(TrainerService, 'trainer').submitRun({
        model,
        dataset: p[0],
        datasetVersion: version === undefined ? 0 : uint(version, '--dataset-version'),
        trainer,
        hyperparameters,
      });
      ctx.print(run ? toJson(TrainingRunSchema, run) : null, () => `started run ${run?.id ?? '?'}`);
    },
  },
  {
    path: ['policy', 'set'],
    args:
      '<model> --dataset <name> --trainer <kind> --metric <name> [--lower-is-better] [--min-improvement <x>] --action promote|canary|challenger [--canary-weight <percent>] [--on-drift] [--on-records <n>] [--cron "<m h dom mon dow>"] [--param key=value ...]',
    summary: 'retrain a model on drift, new data and/or a schedule, gate it against the champion, then promote / canary / set challenger',
    options: {
      dataset: { type: 'string' },
      trainer: { type: 'string' },
      metric: { type: 'string' },
      'lower-is-better': { type: 'boolean' },
      'min-improvement': { type: 'string' },
      action: { type: 'string' },
      'canary-weight': { type: 'string' },
      'on-drift': { type: 'boolean' },
      'on-records': { type: 'string' },
      cron: { type: 'string' },
      param: { type: 'string', multiple: true },
    },
    async run(ctx, p, v) {
      need(p, 1, '<model>');
      const actions: Record<string, PromotionAction> = { promote: PromotionAction.PROMOTE, canary: PromotionAction.CANARY, challenger: PromotionAction.SET_CHALLENGER };
      const action = actions[str(v, 'action') ?? ''];
      if (action === undefined) throw new UsageError('--action must be promote, canary or challenger');
      const minImprovement = Number(str(v, 'min-improvement') ?? '0');
      if (!Number.isFinite(minImprovement)) throw new UsageError('--min-improvement must be a number');
      const records = str(v, 'on-records');
      const weight = str(v, 'canary-weight');
      const { policy } = await ctx.client(TrainerService, 'trainer').setRetrainPolicy({
        policy: {
          model: p[0],
          dataset: str(v, 'dataset') ?? '',
          trainer: str(v, 'trainer') ?? '',
          hyperparameters: params(v),
          onDrift: v['on-drift'] === true,
          onNewRecords: records === undefined ? 0n : BigInt(uint(records, '--on-records')),
          gate: { metric: str(v, 'metric') ?? '', higherIsBetter: v['lower-is-better'] !== true, minImprovement },
          action,
          canaryWeight: weight === undefined ? 0 : uint(weight, '--canary-weight'),
          cron: str(v, 'cron') ?? '',
        },
      });
      ctx.print(policy ? toJson(RetrainPolicySchema, policy) : null, () => `retrain policy of ${p[0]} set`);
    },
  },
  {
    path: ['policy', 'get'],
    args: '<model>',
    summary: "a model's retrain policy",
    async run(ctx, p) {
      need(p, 1, '<model>');
      const { policy } = await ctx.client(TrainerService, 'trainer').getRetrainPolicy({ model: p[0] });
      const json = policy ? toJson(RetrainPolicySchema, policy) : null;
      ctx.print(json, () => JSON.stringify(json, null, 2));
    },
  },
  {
    path: ['infer'],
    args: "<model> --data '[[1.0, 2.0], ...]' [--version <v>] [--input <name>]",
    summary: 'one Open Inference Protocol request with FP32 rows',
    options: { data: { type: 'string' }, version: { type: 'string' }, input: { type: 'string' } },
    async run(ctx, p, v) {
      need(p, 1, '<model>');
      const rows = parseRows(str(v, 'data'));
      const gateway = ctx.client(GRPCInferenceService, 'gateway');
      const version = str(v, 'version') ?? '';
      const inputName = str(v, 'input') ?? (await gateway.modelMetadata({ name: p[0], version })).inputs[0]?.name;
      if (!inputName) throw new CliError(`model ${p[0]} declares no inputs`);
      const res = await gateway.modelInfer({
        modelName: p[0],
        modelVersion: version,
        inputs: [{ name: inputName, datatype: 'FP32', shape: [BigInt(rows.length), BigInt(rows[0]?.length ?? 0)], contents: { fp32Contents: rows.flat() } }],
      });
      const outputs = res.outputs.map((o) => ({
        name: o.name,
        datatype: o.datatype,
        shape: o.shape.map(Number),
        data: [...(o.contents?.fp32Contents ?? []), ...(o.contents?.fp64Contents ?? []), ...(o.contents?.int64Contents ?? []).map(Number), ...(o.contents?.intContents ?? [])],
      }));
      ctx.print({ model: res.modelName, version: res.modelVersion, outputs }, () =>
        [`${res.modelName} v${res.modelVersion}`, ...outputs.map((o) => `  ${o.name} ${o.datatype}[${o.shape.join(',')}] ${JSON.stringify(o.data)}`)].join('\n'),
      );
    },
  },
  {
    path: ['tail'],
    args: '<topic|registry|data|training|monitor|inference|feedback> [--from-beginning] [--limit <n>]',
    summary: 'print the events of a topic as JSON lines until Ctrl-C (or --limit)',
    options: { 'from-beginning': { type: 'boolean' }, limit: { type: 'string' } },
    async run(ctx, p, v) {
      need(p, 1, '<topic>');
      const limit = str(v, 'limit');
      await tailTopic(ctx, p[0] ?? '', { fromBeginning: v['from-beginning'] === true, limit: limit === undefined ? undefined : uint(limit, '--limit') });
    },
  },
  {
    path: ['demo'],
    args: '',
    summary: 'run the whole model lifecycle loop on the running platform, step by step (a few minutes at most)',
    async run(ctx) {
      const started = Date.now();
      const result = await runLifecycleScenario(ctx, { step: (line) => ctx.output.err(line), searchUrl: (ctx.env['SEARCH_URL'] ?? 'http://127.0.0.1:9200').replace(/\/+$/, '') });
      ctx.print(
        { ...result, firstRun: toJson(TrainingRunSchema, result.firstRun), retrainRun: toJson(TrainingRunSchema, result.retrainRun) },
        () =>
          [
            `done in ${Math.round((Date.now() - started) / 1000)} s: ${result.model} v${result.retrainRun.modelVersion} is champion and serving.`,
            `  aio versions list ${result.model}     aio alias history ${result.model}     aio runs list`,
            `  aio infer ${result.model} --data '[[-2,2],[2,-2]]'`,
          ].join('\n'),
      );
    },
  },
  {
    path: ['token'],
    args: '--subject <name> --roles <role,...> [--ttl <seconds>]',
    summary: 'mint a local JWT with the local secret (.infra/auth-secret or AIO_AUTH_SECRET)',
    options: { subject: { type: 'string' }, roles: { type: 'string' }, ttl: { type: 'string' }, issuer: { type: 'string' }, audience: { type: 'string' } },
    async run(ctx, _p, v) {
      const argv = Object.entries(v).flatMap(([k, val]) => (typeof val === 'string' ? [`--${k}`, val] : []));
      const result = await mintTokenCommand(argv, ctx.env, ctx.cwd);
      if (result.exitCode !== 0) throw new CliError(result.output.replace(/^aio-token: /, ''));
      ctx.output.out(result.output);
    },
  },
];

/** Repeated `--param key=value` options as a map. */
function params(values: Values): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of (values['param'] as string[] | undefined) ?? []) {
    const at = kv.indexOf('=');
    if (at <= 0) throw new UsageError(`--param must be key=value, got "${kv}"`);
    out[kv.slice(0, at)] = kv.slice(at + 1);
  }
  return out;
}

function parseRows(data: string | undefined): number[][] {
  if (data === undefined) throw new UsageError("--data '[[...], ...]' is required");
  let rows: unknown;
  try {
    rows = JSON.parse(data);
  } catch {
    throw new UsageError('--data must be JSON: an array of rows of numbers');
  }
  if (!Array.isArray(rows) || rows.length === 0 || !rows.every((r) => Array.isArray(r) && r.length > 0 && r.every((x) => typeof x === 'number'))) {
    throw new UsageError('--data must be a non-empty array of non-empty rows of numbers');
  }
  const rowsOk = rows as number[][];
  const width = rowsOk[0]?.length;
  if (!rowsOk.every((r) => r.length === width)) throw new UsageError('--data rows must all have the same length');
  return rowsOk;
}
