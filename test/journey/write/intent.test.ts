import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/clock.js';
import { isAppError } from '../../../src/errors.js';
import { derivedId, newId } from '../../../src/ids.js';
import { createWorkflowIntent } from '../../../src/intents/journeyWrite.js';
import type { IntentContext } from '../../../src/intents/registry.js';
import { grantContract, permissiveMvpContract } from '../../../src/machines/contract.js';
import type { Sop, Workflow } from '../../../src/realms/journey/types.js';
import { harness, tenant, type Harness } from '../../actors/helpers.js';
import { inspectBpmn, missingDi } from './helpers.js';

const TEXT = `# Claims
1. Claims handler: register the claim
2. Claims AI: extract the data
3. If the claim is complete, go to step 5. Otherwise, go to step 4.
4. Claims handler: request information. If the customer answers, go to step 2. Otherwise, end the process.
5. Claims handler: decide on the claim`;

const SOP: Sop = {
  title: 'Refunds',
  purpose: 'Refund customers',
  scope: 'All refunds',
  markdown: '',
  roles: [
    { id: 'agent', name: 'Service agent', kind: 'human' },
    { id: 'erp', name: 'ERP', kind: 'system' },
  ],
  steps: [
    { number: '1', title: 'Check the request', actor: 'agent', inputs: [], outputs: [], bpmnRef: 'Task_check', exceptions: [] },
    { number: '2', title: 'Book the refund', actor: 'erp', inputs: [], outputs: [], bpmnRef: 'Task_book', exceptions: [] },
  ],
};

let h: Harness;
let tenantId: string;

beforeEach(async () => {
  h = await harness();
  tenantId = tenant();
});
afterEach(async () => h.cleanup());

async function run(params: unknown) {
  const { id } = await h.runtime.spawn('execution', { intent: 'create_workflow', params }, { tenantId });
  return h.runtime.waitFor(id, { tenantId, until: 'done', timeoutMs: 20_000 });
}

async function workflowOf(view: Awaited<ReturnType<typeof run>>) {
  expect(view.status).toBe('done');
  const refs = (view.output as { artifacts: { id: string; kind: string }[] }).artifacts;
  expect(refs.map((r) => r.kind)).toEqual(['workflow']);
  const artifact = await h.stores.artifacts.get(tenantId, refs[0]?.id as string);
  if (!artifact) throw new Error('artifact missing');
  const body = artifact.body as Workflow;
  const chunks: Buffer[] = [];
  for await (const c of await h.stores.blobs.read(tenantId, body.xmlBlobId)) chunks.push(c as Buffer);
  return { artifact, body, xml: Buffer.concat(chunks).toString('utf8'), blob: await h.stores.blobs.info(tenantId, body.xmlBlobId) };
}

describe('create_workflow through the runtime', () => {
  it('turns SOP text into a stored BPMN file and a workflow artifact', async () => {
    const view = await run({ from: { text: TEXT } });
    const { artifact, body, xml, blob } = await workflowOf(view);
    expect(blob).toMatchObject({ mediaType: 'application/bpmn+xml', name: 'claims.bpmn' });
    expect(artifact.lineage).toMatchObject({ actorId: view.id, intent: 'create_workflow', fileIds: [body.xmlBlobId] });
    expect(body.lint).toEqual([]);
    expect(body.lanes.map((l) => l.name)).toEqual(['Claims handler', 'Claims AI']);
    expect(body.nodes.filter((n) => n.type.endsWith('Task')).map((n) => n.id)).toEqual(['Step_1', 'Step_2', 'Step_4', 'Step_5']);
    expect(body.flows).toContainEqual({ from: 'Step_3', to: 'Step_5', condition: 'the claim is complete' });
    const r = await inspectBpmn(xml);
    expect(r.warnings).toEqual([]);
    expect(missingDi(r)).toEqual({ participants: [], lanes: [], flowNodes: [], sequenceFlows: [], messageFlows: [] });
    expect(r.flowNodes.sort()).toEqual(body.nodes.map((n) => n.id).sort());
  });

  it('reads an uploaded JSON SOP file', async () => {
    const fileId = newId('fil');
    await h.stores.blobs.write(tenantId, { id: fileId, name: 'refunds.json', mediaType: 'application/json', maxBytes: 1 << 20 }, Readable.from([Buffer.from(JSON.stringify(SOP))]));
    const { artifact, body } = await workflowOf(await run({ from: { fileId } }));
    expect(artifact.lineage.fileIds).toEqual([fileId, body.xmlBlobId]);
    expect(body.nodes.filter((n) => n.type.endsWith('Task')).map((n) => [n.id, n.type])).toEqual([
      ['Task_check', 'userTask'],
      ['Task_book', 'serviceTask'],
    ]);
  });

  it('reads a stored sop artifact', async () => {
    const sopId = 'art_sop_refunds_000000001';
    await h.stores.artifacts.put({
      id: sopId,
      tenantId,
      solutionId: 'default',
      kind: 'sop',
      createdAt: new Date().toISOString(),
      body: SOP,
      lineage: { actorId: 'exe_0000000000', actorKind: 'execution', intent: 'generate_sop', inputs: [], fileIds: [], contractId: 'ctr_x', decisionIds: [] },
    });
    const { artifact, body } = await workflowOf(await run({ from: { sopId } }));
    expect(artifact.lineage.inputs).toEqual([sopId]);
    expect(body.lanes.map((l) => l.name)).toEqual(['Service agent', 'ERP']);
  });

  it('fails with the reason of bad input', async () => {
    const noSteps = await run({ from: { text: 'No numbered steps at all.' } });
    expect(noSteps.status).toBe('failed');
    expect(noSteps.error?.code).toBe('parse-error');
    const unknown = await run({ from: { sopId: 'art_nothing_here_000' } });
    expect(unknown.status).toBe('failed');
    expect(unknown.error?.code).toBe('not-found');
    const fileId = newId('fil');
    await h.stores.blobs.write(tenantId, { id: fileId, name: 'bad.json', mediaType: 'application/json', maxBytes: 1 << 20 }, Readable.from([Buffer.from('{"title": 1}')]));
    const badJson = await run({ from: { fileId } });
    expect(badJson.status).toBe('failed');
    expect(badJson.error?.code).toBe('params-invalid');
  });

  it('refuses invalid parameters before creating an actor', async () => {
    for (const params of [{}, { from: {} }, { from: { text: '' } }, { from: { text: 'x', sopId: 'y' } }]) {
      const e = await h.runtime.spawn('execution', { intent: 'create_workflow', params }, { tenantId }).catch((err: unknown) => err);
      expect(isAppError(e, 'params-invalid')).toBe(true);
    }
    expect((await h.stores.actors.list({ tenantId, limit: 10 })).items).toEqual([]);
  });
});

describe('create_workflow handler', () => {
  it('is idempotent: a re-run for the same actor reuses the stored BPMN file and artifact id', async () => {
    const actorId = newId('exe');
    const grant = grantContract([permissiveMvpContract(tenantId, Date.now())], { tenantId, realm: 'journey', intent: 'create_workflow', contractId: null }, Date.now());
    const emitted: { id: string; body: unknown }[] = [];
    const ctx: IntentContext = {
      actorId,
      tenantId,
      solutionId: 'default',
      intent: 'create_workflow',
      stores: { artifacts: h.stores.artifacts, records: h.stores.records, blobs: h.stores.blobs },
      clock: systemClock,
      signal: new AbortController().signal,
      progress: () => undefined,
      artifactId: (kind, n) => derivedId('art', actorId, kind, n),
      tenantSecret: async () => Buffer.alloc(32, 7),
      async emit(kind, body, options) {
        const id = derivedId('art', actorId, kind, options?.n ?? 0);
        emitted.push({ id, body });
        return { id, kind } as never;
      },
    };
    const params = createWorkflowIntent.params.parse({ from: { text: TEXT } });
    const first = await createWorkflowIntent.handler(ctx, params, grant);
    const second = await createWorkflowIntent.handler(ctx, params, grant);
    expect(second).toEqual(first);
    const [a, b] = emitted.map((e) => e.body as Workflow);
    expect(a?.xmlBlobId).toBe(derivedId('fil', actorId, 'workflow'));
    expect(b).toEqual(a);
    const info = await h.stores.blobs.info(tenantId, a?.xmlBlobId as string);
    expect(info?.bytes).toBeGreaterThan(1000);
    const chunks: Buffer[] = [];
    for await (const c of await h.stores.blobs.read(tenantId, a?.xmlBlobId as string)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString('utf8')).toContain('<bpmn:collaboration');
  });
});
