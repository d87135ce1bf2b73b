/**
 * @module intents/journey
 * Journey-realm intents that read BPMN: `generate_sop`, `analyze_coexistence`,
 * `optimize_workflow` and `generate_coexistence_blueprint` (DOMAIN.md section 2). The
 * contract's scope applies; its data policy does not (these read process models, not data).
 *
 * A workflow given as an uploaded file (`{ fileId }`) is imported and first stored as a
 * `workflow` artifact whose `xmlBlobId` is the upload itself, so later intents can name it by
 * `workflowId`. Import warnings travel with the workflow and the SOP (never dropped).
 */
import { Readable } from 'node:stream';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { derivedId } from '../ids.js';
import { assertGranted, type GrantedContract } from '../machines/contract.js';
import type { ArtifactRef } from '../machines/execution.js';
import {
  analyzeCoexistence,
  blueprintReport,
  planBlueprint,
  specMetrics,
  DEFAULT_ESCALATE_BELOW,
  DEFAULT_HUMAN_SLA_HOURS,
  type BlueprintOptions,
} from '../realms/journey/coexistence.js';
import { DEFAULT_BPMN_MAX_BYTES } from '../realms/journey/import.js';
import { restrictToProcess, workflowSummary, type ProcessModel } from '../realms/journey/model.js';
import { generateSop } from '../realms/journey/sop.js';
import { loadWorkflow, type LoadedWorkflow, type WorkflowIn } from '../realms/journey/source.js';
import type { CoexistenceAnalysis, CoexistenceBlueprint, Workflow } from '../realms/journey/types.js';
import { summarizeFlowSpec, writeBpmn } from '../realms/journey/write/index.js';
import type { IntentContext, IntentDefinition } from './registry.js';

const Id = z.string().min(1).max(200);

/** `WorkflowIn`: a stored workflow, or an uploaded BPMN file (optionally one process of it). */
export const WorkflowInSchema = z.union([
  z.object({ workflowId: Id }).strict(),
  z.object({ fileId: Id, processId: Id.optional() }).strict(),
]);

const GenerateSopParams = z.object({ workflow: WorkflowInSchema }).strict();
const AnalyzeParams = z.object({ workflow: WorkflowInSchema }).strict();
const OptimizeParams = z.object({ workflow: WorkflowInSchema, blueprint: z.boolean().optional() }).strict();
const BlueprintParams = z
  .object({
    analysisId: Id,
    /** AI results below this confidence go to a human (0–1). @defaultValue 0.8 */
    escalateBelow: z.number().min(0).max(1).optional(),
    /** Hours before a human task is escalated. @defaultValue 24 */
    humanSlaHours: z.number().positive().max(24 * 365).optional(),
  })
  .strict();

/** Body of a `workflow` artifact imported from a file: the summary plus the import warnings. */
export type ImportedWorkflow = Workflow & { warnings: { elementId?: string; message: string }[] };

function deps(ctx: IntentContext) {
  return { artifacts: ctx.stores.artifacts, blobs: ctx.stores.blobs };
}

/** The workflow id of `loaded`, storing the imported file as a `workflow` artifact first if needed. */
async function workflowOf(ctx: IntentContext, loaded: LoadedWorkflow, refs: ArtifactRef[]): Promise<string> {
  if (loaded.workflowId) return loaded.workflowId;
  const body: ImportedWorkflow = {
    xmlBlobId: loaded.fileId,
    lint: [],
    ...workflowSummary(loaded.imported.model),
    warnings: loaded.imported.warnings,
  };
  const ref = await ctx.emit('workflow', body, { fileIds: [loaded.fileId] });
  refs.push(ref);
  return ref.id;
}

/**
 * What the intents that take a `WorkflowIn` start with: the grant checked, the workflow
 * loaded, and its id (a `workflow` artifact stored first, and listed in `refs`, when the
 * input was an uploaded file).
 */
async function openWorkflow(
  ctx: IntentContext,
  input: WorkflowIn,
  contract: GrantedContract,
): Promise<{ loaded: LoadedWorkflow; refs: ArtifactRef[]; workflowId: string }> {
  assertGranted(contract, { realm: 'journey' });
  const loaded = await loadWorkflow(deps(ctx), ctx.tenantId, input, contract);
  const refs: ArtifactRef[] = [];
  const workflowId = await workflowOf(ctx, loaded, refs);
  return { loaded, refs, workflowId };
}

/** The imported model, or only the process the intent named (`WorkflowIn.processId`). */
function modelOf(loaded: LoadedWorkflow): ProcessModel {
  return loaded.processId === undefined ? loaded.imported.model : restrictToProcess(loaded.imported.model, loaded.processId);
}

/**
 * An analysis of one process records it (`processId`, beside the DOMAIN.md fields), so the
 * blueprint is built from that process only.
 */
function withProcess(analysis: CoexistenceAnalysis, loaded: LoadedWorkflow): CoexistenceAnalysis & { processId?: string } {
  return loaded.processId === undefined ? analysis : { ...analysis, processId: loaded.processId };
}

/** `generate_sop`: BPMN → structured SOP (with Markdown); artifacts `workflow` (when imported) and `sop`. */
export const generateSopIntent: IntentDefinition<z.infer<typeof GenerateSopParams>> = {
  type: 'generate_sop',
  realm: 'journey',
  mode: 'short',
  description: 'Turns a BPMN workflow into a structured SOP (roles, numbered steps, decisions, exceptions) with Markdown.',
  params: GenerateSopParams,
  async handler(ctx, params, contract) {
    const { loaded, refs, workflowId } = await openWorkflow(ctx, params.workflow, contract);
    const sop = generateSop(loaded.imported.model, { processId: loaded.processId, warnings: loaded.imported.warnings });
    refs.push(await ctx.emit('sop', sop, { inputs: [workflowId], fileIds: [loaded.fileId] }));
    return refs;
  },
};

/** `analyze_coexistence`: classify every task and measure the potential; artifact `coexistenceAnalysis`. */
export const analyzeCoexistenceIntent: IntentDefinition<z.infer<typeof AnalyzeParams>> = {
  type: 'analyze_coexistence',
  realm: 'journey',
  mode: 'short',
  description: 'Classifies each task of a workflow as AI-suitable, human-required or hybrid, with reasons and the optimisation potential.',
  params: AnalyzeParams,
  async handler(ctx, params, contract) {
    const { loaded, refs, workflowId } = await openWorkflow(ctx, params.workflow, contract);
    const analysis = analyzeCoexistence(modelOf(loaded), { workflowId });
    refs.push(await ctx.emit('coexistenceAnalysis', withProcess(analysis, loaded), { inputs: [workflowId], fileIds: [loaded.fileId] }));
    return refs;
  },
};

/**
 * Emits the blueprint of `model`: its BPMN (written with DI, linted) as a blob and a
 * `workflow` artifact, then the `coexistenceBlueprint`. The blob id derives from the actor, so
 * a re-run after a crash reuses it.
 */
async function emitBlueprint(
  ctx: IntentContext,
  model: ProcessModel,
  analysis: CoexistenceAnalysis,
  analysisId: string,
  options: BlueprintOptions,
  refs: ArtifactRef[],
  contract: GrantedContract,
): Promise<void> {
  assertGranted(contract, { realm: 'journey' });
  if (model.processes.length === 0) {
    throw new AppError('bpmn-invalid', 'No blueprint: the document holds no bpmn:process (only collaborations or definitions)', {
      extras: { element: 'bpmn:process', reason: 'no-process' },
    });
  }
  const plan = planBlueprint(model, analysis, options);
  const after = specMetrics(plan.spec, plan.exceptional);
  const measured: CoexistenceAnalysis = {
    ...analysis,
    potential: {
      ...analysis.potential,
      handoffs: [analysis.potential.handoffs[0], after.handoffs],
      waitPoints: [analysis.potential.waitPoints[0], after.waitPoints],
      criticalPathLength: [analysis.potential.criticalPathLength[0], after.criticalPathLength],
    },
  };
  const written = await writeBpmn(plan.spec);
  const blobId = derivedId('fil', ctx.actorId, 'blueprint');
  if (!(await ctx.stores.blobs.info(ctx.tenantId, blobId))) {
    await ctx.stores.blobs.write(
      ctx.tenantId,
      { id: blobId, name: 'blueprint.bpmn', mediaType: 'application/bpmn+xml', maxBytes: DEFAULT_BPMN_MAX_BYTES },
      Readable.from([Buffer.from(written.xml, 'utf8')]),
    );
  }
  const workflow: Workflow = { xmlBlobId: blobId, lint: written.lint, ...summarizeFlowSpec(plan.spec) };
  const wf = await ctx.emit('workflow', workflow, { inputs: [analysisId], fileIds: [blobId] });
  refs.push(wf);
  const blueprint: CoexistenceBlueprint = {
    analysisId,
    workflowId: wf.id,
    report: blueprintReport(model, measured, plan),
    handoffs: plan.handoffs,
    decisionPoints: plan.decisionPoints,
    escalations: plan.escalations,
  };
  refs.push(await ctx.emit('coexistenceBlueprint', blueprint, { inputs: [analysisId, analysis.workflowId], fileIds: [blobId] }));
}

/** `optimize_workflow`: the analysis with recommendations; with `blueprint: true` also the blueprint. */
export const optimizeWorkflowIntent: IntentDefinition<z.infer<typeof OptimizeParams>> = {
  type: 'optimize_workflow',
  realm: 'journey',
  mode: 'short',
  description: 'Analyses a workflow and recommends optimisations (automate, merge hand-offs, parallelise, remove waits, add escalations); optionally builds the blueprint.',
  params: OptimizeParams,
  async handler(ctx, params, contract) {
    const { loaded, refs, workflowId } = await openWorkflow(ctx, params.workflow, contract);
    const model = modelOf(loaded);
    const analysis = analyzeCoexistence(model, { workflowId, recommendations: true });
    const ref = await ctx.emit('coexistenceAnalysis', withProcess(analysis, loaded), { inputs: [workflowId], fileIds: [loaded.fileId] });
    refs.push(ref);
    if (params.blueprint) await emitBlueprint(ctx, model, analysis, ref.id, {}, refs, contract);
    return refs;
  },
};

/** `generate_coexistence_blueprint`: the optimised BPMN (AI and human lanes, DI) and its report. */
export const generateCoexistenceBlueprintIntent: IntentDefinition<z.infer<typeof BlueprintParams>> = {
  type: 'generate_coexistence_blueprint',
  realm: 'journey',
  mode: 'short',
  description: 'Builds the human/AI coexistence blueprint of an analysed workflow: BPMN with an AI lane, hand-offs, decision points and escalations, plus a report.',
  params: BlueprintParams,
  async handler(ctx, params, contract) {
    assertGranted(contract, { realm: 'journey' });
    const artifact = await ctx.stores.artifacts.get(ctx.tenantId, params.analysisId);
    if (!artifact || artifact.kind !== 'coexistenceAnalysis') throw new AppError('not-found', `No coexistence analysis ${params.analysisId}`);
    const analysis = artifact.body as CoexistenceAnalysis & { processId?: unknown };
    const loaded = await loadWorkflow(deps(ctx), ctx.tenantId, { workflowId: analysis.workflowId }, contract);
    if (typeof analysis.processId === 'string') loaded.processId = analysis.processId;
    const refs: ArtifactRef[] = [];
    await emitBlueprint(
      ctx,
      modelOf(loaded),
      analysis,
      artifact.id,
      { escalateBelow: params.escalateBelow ?? DEFAULT_ESCALATE_BELOW, humanSlaHours: params.humanSlaHours ?? DEFAULT_HUMAN_SLA_HOURS },
      refs,
      contract,
    );
    return refs;
  },
};

/** Every journey intent of this module, for the registry. */
export const journeyReadIntents = [generateSopIntent, analyzeCoexistenceIntent, optimizeWorkflowIntent, generateCoexistenceBlueprintIntent] as const;
