import { Platform } from '@aio/host';
import { TrafficRouteSchema } from '@aio/proto/aio/registry/v1/registry';
import { GateResultSchema, PromotionAction, PromotionActionSchema, RetrainPolicySchema, RunTriggerSchema, type GateResult, type RetrainPolicy, type TrainingRun } from '@aio/proto/aio/trainer/v1/trainer';
import type { Logger } from '@aio/telemetry';
import { create, fromJson, type JsonObject } from '@bufbuild/protobuf';
import { Inject, Injectable } from '@nestjs/common';
import { decideGate } from './evaluation.gate.js';
import { PoliciesRepository } from './policies.repository.js';
import { RegistryClient } from './registry.client.js';

export const CHAMPION = 'champion';
export const CHALLENGER = 'challenger';

export function policyOf(data: Record<string, unknown>): RetrainPolicy {
  return fromJson(RetrainPolicySchema, data as JsonObject, { ignoreUnknownFields: true });
}

const actionName = (a: PromotionAction): string => PromotionActionSchema.value[a]?.name.replace('PROMOTION_ACTION_', '') ?? String(a);

/**
 * The evaluation gate and the promotion action for a run's freshly registered version, when the model
 * has a retrain policy (manual runs included). Never throws: the version is registered whatever
 * happens here, so a registry error becomes the gate result's reason instead of failing the run.
 */
@Injectable()
export class PromotionService {
  private readonly logger: Logger;

  constructor(
    @Inject(PoliciesRepository) private readonly policies: PoliciesRepository,
    @Inject(RegistryClient) private readonly registry: RegistryClient,
    @Inject(Platform) platform: Platform,
  ) {
    this.logger = platform.options.telemetry.getLogger('trainer.promotion');
  }

  async evaluate(run: TrainingRun, version: number): Promise<GateResult | undefined> {
    const attrs = { 'aio.run': run.id, 'aio.model': run.model, 'aio.version': version };
    let policy: RetrainPolicy;
    try {
      const doc = await this.policies.find(run.model);
      if (doc === null) return undefined;
      policy = policyOf(doc.data);
    } catch (err) {
      this.logger.error('retrain policy could not be read: gate skipped', attrs, err);
      return create(GateResultSchema, { passed: false, reason: `the gate did not run: the retrain policy could not be read (${message(err)}); move aliases by hand` });
    }
    const gate = policy.gate;
    if (gate === undefined) return undefined;
    const result = create(GateResultSchema, { metric: gate.metric });
    try {
      const current = await this.registry.versionByAlias(run.model, CHAMPION);
      const decision = decideGate(gate, version, run.metrics, current === undefined ? undefined : { version: current.version, metrics: current.metrics });
      Object.assign(result, decision);
      if (decision.passed) result.actionTaken = await this.act(policy, run, version, decision.championVersion, decision.reason);
    } catch (err) {
      result.passed = false;
      result.reason = `${result.reason === '' ? 'the gate did not finish' : `${result.reason}; but the action failed`}: ${message(err)}; retry by hand (aio models alias ...)`;
      this.logger.error(`evaluation gate failed: ${result.reason}`, attrs, err);
      return result;
    }
    this.logger.info(`evaluation gate ${result.passed ? 'passed' : 'held back'} v${version}: ${result.reason}${result.actionTaken === '' ? '' : `; ${result.actionTaken}`}`, {
      ...attrs,
      'gate.passed': result.passed,
      'gate.metric': result.metric,
    });
    return result;
  }

  /** The policy's action for a version that passed; returns what was done, in words. */
  private async act(policy: RetrainPolicy, run: TrainingRun, version: number, champion: number, verdict: string): Promise<string> {
    const trigger = RunTriggerSchema.value[run.trigger]?.name.replace('RUN_TRIGGER_', '') ?? String(run.trigger);
    const reason = `retrain policy (${actionName(policy.action)}): run ${run.id} (${trigger}) passed the gate: ${verdict}`;
    switch (policy.action) {
      case PromotionAction.PROMOTE:
        await this.registry.setAlias(run.model, CHAMPION, version, reason);
        return `SetAlias ${CHAMPION} -> v${version}`;
      case PromotionAction.SET_CHALLENGER:
        await this.registry.setAlias(run.model, CHALLENGER, version, reason);
        return `SetAlias ${CHALLENGER} -> v${version}`;
      case PromotionAction.CANARY: {
        await this.registry.setAlias(run.model, CHALLENGER, version, reason);
        if (champion === 0) return `SetAlias ${CHALLENGER} -> v${version}; no canary: the model has no champion to split traffic with (promote one first)`;
        const weight = policy.canaryWeight;
        await this.registry.updateDeployment(run.model, (d) => {
          d.target = { case: 'alias', value: CHAMPION };
          d.traffic = [
            create(TrafficRouteSchema, { version: champion, weight: 100 - weight }),
            create(TrafficRouteSchema, { version, weight }),
          ];
        });
        return `SetAlias ${CHALLENGER} -> v${version}; SetDeployment canary v${champion} ${100 - weight}% / v${version} ${weight}%`;
      }
      case PromotionAction.UNSPECIFIED:
        return '';
    }
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
