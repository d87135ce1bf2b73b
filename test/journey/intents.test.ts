import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ActorView } from '../../src/actors/index.js';
import type { Artifact } from '../../src/persistence/ports.js';
import { importBpmn } from '../../src/realms/journey/import.js';
import { readBlobBytes } from '../../src/realms/journey/source.js';
import type { CoexistenceAnalysis, CoexistenceBlueprint, Sop, Workflow } from '../../src/realms/journey/types.js';
import { harness, tenant, type Harness } from '../actors/helpers.js';

let h: Harness;
let t: string;
beforeEach(async () => {
  h = await harness();
  t = tenant();
});
afterEach(async () => h.cleanup());

const fixture = (name: string) => readFileSync(new URL(`../fixtures/journey/${name}`, import.meta.url));

async function upload(bytes: Buffer, id: string): Promise<string> {
  await h.stores.blobs.write(t, { id, name: `${id}.bpmn`, mediaType: 'application/bpmn+xml', maxBytes: bytes.length + 1 }, Readable.from([bytes]));
  return id;
}

async function run(intent: string, params: unknown): Promise<{ view: ActorView; artifacts: Artifact[] }> {
  const { id } = await h.runtime.spawn('execution', { intent, params }, { tenantId: t });
  const view = await h.runtime.waitFor(id, { tenantId: t, until: 'done', timeoutMs: 20_000 });
  const refs = (view.output as { artifacts?: { id: string }[] } | undefined)?.artifacts ?? [];
  const artifacts: Artifact[] = [];
  for (const r of refs) {
    const a = await h.stores.artifacts.get(t, r.id);
    if (a) artifacts.push(a);
  }
  return { view, artifacts };
}

function body<B>(artifacts: Artifact[], kind: string): B {
  const a = artifacts.find((x) => x.kind === kind);
  if (!a) throw new Error(`no ${kind} artifact`);
  return a.body as B;
}

async function blobText(id: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await h.stores.blobs.read(t, id)) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

describe('journey intents through the runtime', () => {
  it('generate_sop from an uploaded file stores the workflow and the SOP', async () => {
    const fileId = await upload(fixture('claims.bpmn'), 'fil_claims0000001');
    const { view, artifacts } = await run('generate_sop', { workflow: { fileId } });
    expect(view.status).toBe('done');
    expect(artifacts.map((a) => a.kind)).toEqual(['workflow', 'sop']);
    const wf = body<Workflow & { warnings: unknown[] }>(artifacts, 'workflow');
    expect(wf.xmlBlobId).toBe(fileId);
    expect(wf.warnings).toEqual([]);
    expect(wf.lanes.map((l) => l.name)).toEqual(['Claims System', 'Claims Handler', 'Fraud Team']);
    expect(wf.nodes.find((n) => n.id === 'Task_Approve')).toEqual({ id: 'Task_Approve', type: 'userTask', name: 'Approve claim payout', lane: 'Lane_Handler' });
    expect(wf.flows).toContainEqual({ from: 'Gateway_Approved', to: 'Task_Reject', condition: 'default' });
    const sop = body<Sop>(artifacts, 'sop');
    expect(sop.title).toBe('Claims handling');
    expect(sop.markdown).toContain('# Claims handling');
    const sopArtifact = artifacts.find((a) => a.kind === 'sop');
    expect(sopArtifact?.lineage).toMatchObject({ intent: 'generate_sop', inputs: [artifacts[0]?.id], fileIds: [fileId] });

    // The stored workflow can be named next time; no new workflow artifact then.
    const again = await run('generate_sop', { workflow: { workflowId: artifacts[0]?.id } });
    expect(again.artifacts.map((a) => a.kind)).toEqual(['sop']);
    expect(body<Sop>(again.artifacts, 'sop').steps).toEqual(sop.steps);
  });

  it('generate_sop takes one process of a collaboration', async () => {
    const fileId = await upload(fixture('pools.bpmn'), 'fil_pools00000001');
    const { artifacts } = await run('generate_sop', { workflow: { fileId, processId: 'PB' } });
    expect(body<Sop>(artifacts, 'sop').steps.map((s) => s.bpmnRef)).toEqual(['SendOrder', 'WaitInvoice', 'PayInvoice']);
  });

  it('fails with typed problems on bad input, and refuses bad params before spawning', async () => {
    const bad = await upload(Buffer.from('<?xml version="1.0"?><!DOCTYPE x><x/>'), 'fil_doctype000001');
    const refused = await run('generate_sop', { workflow: { fileId: bad } });
    expect(refused.view.status).toBe('failed');
    expect(refused.view.error).toMatchObject({ code: 'unsafe-content' });
    const notBpmn = await upload(readFileSync('/work/shared/data/bpmn/error/not-bpmn.bpmn'), 'fil_notbpmn000001');
    expect((await run('generate_sop', { workflow: { fileId: notBpmn } })).view.error).toMatchObject({ code: 'bpmn-invalid' });
    expect((await run('generate_sop', { workflow: { fileId: 'fil_missing000001' } })).view.error).toMatchObject({ code: 'not-found' });
    expect((await run('generate_sop', { workflow: { workflowId: 'art_nope' } })).view.error).toMatchObject({ code: 'not-found' });
    await expect(h.runtime.spawn('execution', { intent: 'generate_sop', params: { workflow: { fileId: 'x', extra: 1 } } }, { tenantId: t })).rejects.toMatchObject({
      code: 'params-invalid',
    });
    await expect(h.runtime.spawn('execution', { intent: 'generate_coexistence_blueprint', params: { analysisId: 'a', escalateBelow: 2 } }, { tenantId: t })).rejects.toMatchObject({
      code: 'params-invalid',
    });
  });

  it('keeps import warnings in the workflow and the SOP', async () => {
    const fileId = await upload(readFileSync('/work/shared/data/bpmn/error/unrecognized-child.bpmn'), 'fil_warn000000001');
    const { artifacts } = await run('generate_sop', { workflow: { fileId } });
    const wf = body<{ warnings: { message: string }[] }>(artifacts, 'workflow');
    expect(wf.warnings.map((w) => w.message).join()).toContain('unparsable content <bpmn2:unrecognized>');
    expect(body<Sop>(artifacts, 'sop').warnings).toEqual(wf.warnings);
  });

  it('analyze_coexistence, then generate_coexistence_blueprint with options', async () => {
    const fileId = await upload(fixture('claims.bpmn'), 'fil_claims0000002');
    const analysed = await run('analyze_coexistence', { workflow: { fileId } });
    expect(analysed.artifacts.map((a) => a.kind)).toEqual(['workflow', 'coexistenceAnalysis']);
    const analysis = body<CoexistenceAnalysis>(analysed.artifacts, 'coexistenceAnalysis');
    expect(analysis.workflowId).toBe(analysed.artifacts[0]?.id);
    expect(analysis.tasks.filter((x) => x.classification === 'ai').map((x) => x.bpmnRef)).toEqual(['Task_Register', 'Task_Validate', 'Task_Pay']);
    const analysisId = analysed.artifacts[1]?.id as string;

    const bp = await run('generate_coexistence_blueprint', { analysisId, escalateBelow: 0.7, humanSlaHours: 4 });
    expect(bp.view.status).toBe('done');
    expect(bp.artifacts.map((a) => a.kind)).toEqual(['workflow', 'coexistenceBlueprint']);
    const blueprint = body<CoexistenceBlueprint>(bp.artifacts, 'coexistenceBlueprint');
    const wf = body<Workflow>(bp.artifacts, 'workflow');
    expect(blueprint.analysisId).toBe(analysisId);
    expect(blueprint.workflowId).toBe(bp.artifacts[0]?.id);
    expect(blueprint.escalations).toContainEqual({ fromTask: 'Task_Pay', when: 'confidence < 0.7', toRole: 'Claims Handler' });
    expect(blueprint.escalations).toContainEqual({ fromTask: 'Task_Approve', when: 'SLA 4h', toRole: 'Process owner' });
    expect(blueprint.report).toContain('| hand-offs | 9 | 12 |');
    expect(wf.lanes.map((l) => l.name)).toEqual(['Claims Handler', 'Fraud Team', 'AI']);
    const xml = await blobText(wf.xmlBlobId);
    expect(xml).toContain('PT4H');
    const info = await h.stores.blobs.info(t, wf.xmlBlobId);
    expect(info?.mediaType).toBe('application/bpmn+xml');
    const back = await importBpmn(Buffer.from(xml));
    expect(back.warnings).toEqual([]);
    expect(back.model.nodes.find((n) => n.id === 'Task_Pay')?.lane).toBe('Lane_AI_Process_Claims');
  });

  it('optimize_workflow recommends, and builds the blueprint on request', async () => {
    const fileId = await upload(fixture('claims.bpmn'), 'fil_claims0000003');
    const plain = await run('optimize_workflow', { workflow: { fileId } });
    expect(plain.artifacts.map((a) => a.kind)).toEqual(['workflow', 'coexistenceAnalysis']);
    const recs = body<CoexistenceAnalysis>(plain.artifacts, 'coexistenceAnalysis').recommendations ?? [];
    expect(recs.map((r) => r.kind)).toContain('automate');
    const withBlueprint = await run('optimize_workflow', { workflow: { workflowId: plain.artifacts[0]?.id }, blueprint: true });
    expect(withBlueprint.artifacts.map((a) => a.kind)).toEqual(['coexistenceAnalysis', 'workflow', 'coexistenceBlueprint']);
    expect(body<CoexistenceBlueprint>(withBlueprint.artifacts, 'coexistenceBlueprint').report).toContain('## Recommendations');
  });

  it('is refused when the contract does not cover the journey realm', async () => {
    const fileId = await upload(fixture('claims.bpmn'), 'fil_claims0000004');
    const now = new Date().toISOString();
    await h.stores.contracts.insertSuperseding(
      {
        id: `ctr_content_${t}`,
        tenantId: t,
        issuedBy: 'api',
        scope: { realms: ['content'], intents: ['*'] },
        dataPolicy: { materialization: 'full', sampleRows: 1000, retentionDays: 90, piiHandling: 'allow', maxBytes: 1024 ** 3 },
        createdAt: now,
        expiresAt: null,
        revokedAt: null,
      },
      now,
    );
    const { view } = await run('generate_sop', { workflow: { fileId } });
    expect(view.status).toBe('rejected');
    expect(view.error).toMatchObject({ code: 'contract-denied' });
  });

  it('reads a blob whole, and refuses one above the limit without reading it all', async () => {
    const bytes = fixture('pools.bpmn');
    const id = await upload(bytes, 'fil_limit00000001');
    expect((await readBlobBytes(h.stores.blobs, t, id, bytes.length)).equals(bytes)).toBe(true);
    await expect(readBlobBytes(h.stores.blobs, t, id, bytes.length - 1)).rejects.toMatchObject({ code: 'payload-too-large' });
    await expect(readBlobBytes(h.stores.blobs, t, 'fil_none000000001', 10)).rejects.toMatchObject({ code: 'not-found' });
  });

  it('refuses a blueprint of a document without any process', async () => {
    const fileId = await upload(readFileSync('/work/shared/data/bpmn/xml-lang.bpmn'), 'fil_noproc0000001');
    const { view } = await run('optimize_workflow', { workflow: { fileId }, blueprint: true });
    expect(view.status).toBe('failed');
    expect(view.error).toMatchObject({ code: 'bpmn-invalid', reason: 'no-process' });
  });

  it('analyses and blueprints only the named process of a collaboration', async () => {
    const fileId = await upload(fixture('pools.bpmn'), 'fil_pools00000002');
    const analysed = await run('analyze_coexistence', { workflow: { fileId, processId: 'PS' } });
    const analysis = body<CoexistenceAnalysis & { processId?: string }>(analysed.artifacts, 'coexistenceAnalysis');
    expect(analysis.processId).toBe('PS');
    expect(analysis.tasks.map((x) => [x.bpmnRef, x.classification])).toEqual([
      ['Confirm', 'hybrid'],
      ['SendInvoice', 'ai'],
    ]);
    const bp = await run('generate_coexistence_blueprint', { analysisId: analysed.artifacts[1]?.id });
    const wf = body<Workflow>(bp.artifacts, 'workflow');
    expect(wf.nodes.some((n) => n.id === 'PayInvoice')).toBe(false);
    expect(wf.nodes.find((n) => n.id === 'SendInvoice')?.lane).toBe('Lane_AI_PS');
    expect(wf.lanes.map((l) => l.name)).toEqual(['Sales', 'AI']);
  });
});
