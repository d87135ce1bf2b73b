/**
 * @module realms/insights/inventory
 * The liaison agent's first reasoner: it answers from the solution's inventory of datasets
 * (what has been parsed, how many rows each holds), citing each dataset as evidence, and
 * refuses with `not-in-data` when the solution holds no dataset. The conversational
 * reasoners (deterministic question parsing, Claude) build on the same answer shape.
 */
import type { IntentContext } from '../../intents/index.js';
import { assertGranted, type ArtifactRef, type GrantedContract } from '../../machines/index.js';

export type AgentAnswer =
  | {
      kind: 'answer';
      text: string;
      values: { label: string; value: string | number | boolean | null }[];
      evidence: { supports: string[]; datasetId: string; columns: string[]; statistic: string }[];
      reasoner: 'deterministic';
      basis: 'statistics';
    }
  | { kind: 'refusal'; reason: 'not-in-data'; text: string };

interface DatasetBody {
  rowCount?: unknown;
  sheet?: unknown;
}

/** Answers one turn from the datasets of the actor's solution and stores an `agentAnswer`. */
export async function answerFromInventory(ctx: IntentContext, turn: { n: number; text: string }, contract: GrantedContract): Promise<ArtifactRef> {
  assertGranted(contract, { tenantId: ctx.tenantId, realm: 'insights' });
  const datasets: { id: string; rowCount: number }[] = [];
  let cursor: string | undefined;
  do {
    const page = await ctx.stores.artifacts.list({ tenantId: ctx.tenantId, solutionId: ctx.solutionId, kind: 'dataset', limit: 200, ...(cursor ? { cursor } : {}) });
    for (const a of page.items) {
      const body = a.body as DatasetBody;
      datasets.push({ id: a.id, rowCount: typeof body.rowCount === 'number' ? body.rowCount : 0 });
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  const answer: AgentAnswer =
    datasets.length === 0
      ? {
          kind: 'refusal',
          reason: 'not-in-data',
          text: `Solution ${ctx.solutionId} holds no parsed dataset yet, so there is nothing to answer "${turn.text.slice(0, 200)}" from.`,
        }
      : {
          kind: 'answer',
          text: `Solution ${ctx.solutionId} holds ${datasets.length} dataset(s) with ${datasets.reduce((n, d) => n + d.rowCount, 0)} rows in all.`,
          values: datasets.map((d) => ({ label: d.id, value: d.rowCount })),
          evidence: datasets.map((d) => ({ supports: [d.id], datasetId: d.id, columns: [], statistic: 'rowCount' })),
          reasoner: 'deterministic',
          basis: 'statistics',
        };
  return ctx.emit('agentAnswer', answer, { n: turn.n, inputs: datasets.map((d) => d.id) });
}
