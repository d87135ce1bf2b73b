/**
 * @module realms/journey/graph
 * The sequence-flow graph of one container (a process or a sub-process) and its immediate
 * post-dominators: for a split, the node every path from it to an end passes first, which
 * is where its branches meet again (its join). Used by the SOP walk and by coexistence
 * analysis. Everything here is iterative, so a chain of many thousand nodes cannot overflow
 * the call stack.
 */
import type { ModelIndex, ModelNode, ProcessModel } from './model.js';

export interface ContainerGraph {
  /** Node ids of the container, in document order. */
  readonly ids: readonly string[];
  /** Successors (sequence flows, and link throw → link catch of the same name), in flow order. */
  readonly succ: ReadonlyMap<string, readonly string[]>;
  readonly pred: ReadonlyMap<string, readonly string[]>;
}

/** Node ids directly inside `containerId` (a process or sub-process id), in document order. */
export function containerNodes(model: ProcessModel, index: ModelIndex, containerId: string): ModelNode[] {
  const process = index.process.get(containerId);
  const ids = process ? process.nodes : (index.node.get(containerId)?.childNodes ?? []);
  const out: ModelNode[] = [];
  for (const id of ids) {
    const n = index.node.get(id);
    if (n) out.push(n);
  }
  return out;
}

function linkName(n: ModelNode): string | undefined {
  return n.eventDefinitions.find((d) => d.kind === 'link')?.refName;
}

/**
 * The graph of one container. Flows leaving the container (invalid BPMN) are ignored here;
 * the model's warnings already name them. A default flow is ordered after the others.
 */
export function containerGraph(nodes: readonly ModelNode[], index: ModelIndex): ContainerGraph {
  const inside = new Set(nodes.map((n) => n.id));
  const succ = new Map<string, string[]>();
  const pred = new Map<string, string[]>();
  for (const n of nodes) {
    succ.set(n.id, []);
    pred.set(n.id, []);
  }
  const catchesByLink = new Map<string, string[]>();
  for (const n of nodes) {
    if (n.type !== 'intermediateCatchEvent') continue;
    const name = linkName(n);
    if (name === undefined) continue;
    const list = catchesByLink.get(name) ?? [];
    list.push(n.id);
    catchesByLink.set(name, list);
  }
  const add = (from: string, to: string) => {
    const s = succ.get(from);
    const p = pred.get(to);
    if (!s || !p) return;
    s.push(to);
    p.push(from);
  };
  for (const n of nodes) {
    if (n.outgoing.length === 1) {
      const f = index.flow.get(n.outgoing[0] as string);
      if (f && inside.has(f.to)) add(n.id, f.to);
    } else if (n.outgoing.length > 1) {
      const flows = n.outgoing.map((f) => index.flow.get(f)).filter((f) => f !== undefined);
      flows.sort((a, b) => Number(a.isDefault) - Number(b.isDefault));
      for (const f of flows) if (inside.has(f.to)) add(n.id, f.to);
    }
    if (n.type === 'intermediateThrowEvent') {
      const name = linkName(n);
      if (name !== undefined) for (const c of catchesByLink.get(name) ?? []) add(n.id, c);
    }
  }
  return { ids: nodes.map((n) => n.id), succ, pred };
}

/**
 * Immediate post-dominators (Cooper, Harvey & Kennedy's iterative dominator algorithm on the
 * reversed graph, with a virtual exit after every node without successors). A node whose
 * only post-dominator is the exit, or that cannot reach any end (an endless loop), has none.
 */
export function postDominators(g: ContainerGraph): Map<string, string> {
  const EXIT = -1;
  const n = g.ids.length;
  const num = new Map<string, number>();
  g.ids.forEach((id, i) => num.set(id, i));
  const succ: number[][] = g.ids.map((id) => (g.succ.get(id) ?? []).map((s) => num.get(s) ?? -2).filter((x) => x >= 0));
  const pred: number[][] = Array.from({ length: n }, () => []);
  succ.forEach((ss, i) => ss.forEach((s) => pred[s]?.push(i)));
  const sinks: number[] = [];
  for (let i = 0; i < n; i++) if ((succ[i]?.length ?? 0) === 0) sinks.push(i);

  // Post-order of the reversed graph from EXIT (iterative DFS).
  const order: number[] = [];
  const seen = new Uint8Array(n);
  const stack: [number, number][] = [];
  for (const s of sinks) {
    if (seen[s]) continue;
    seen[s] = 1;
    stack.push([s, 0]);
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as [number, number];
      const ps = pred[top[0]] ?? [];
      if (top[1] < ps.length) {
        const p = ps[top[1]] as number;
        top[1]++;
        if (!seen[p]) {
          seen[p] = 1;
          stack.push([p, 0]);
        }
      } else {
        order.push(top[0]);
        stack.pop();
      }
    }
  }
  // rpo index: EXIT gets the highest post-order number.
  const po = new Int32Array(n).fill(-1);
  order.forEach((v, i) => (po[v] = i));
  const exitPo = order.length;
  const ipdom = new Int32Array(n).fill(-2); // -2 undefined, EXIT = -1
  const poOf = (v: number) => (v === EXIT ? exitPo : (po[v] as number));
  const intersect = (a: number, b: number): number => {
    let x = a;
    let y = b;
    while (x !== y) {
      while (poOf(x) < poOf(y)) x = ipdom[x] as number;
      while (poOf(y) < poOf(x)) y = ipdom[y] as number;
    }
    return x;
  };
  for (const s of sinks) ipdom[s] = EXIT;
  let changed = true;
  while (changed) {
    changed = false;
    // Reverse post-order of the reversed graph: nodes nearest the exit first.
    for (let k = order.length - 1; k >= 0; k--) {
      const b = order[k] as number;
      if ((succ[b]?.length ?? 0) === 0) continue;
      let nd = -2;
      for (const s of succ[b] ?? []) {
        if (ipdom[s] === -2) continue;
        nd = nd === -2 ? s : intersect(s, nd);
      }
      if (nd !== -2 && ipdom[b] !== nd) {
        ipdom[b] = nd;
        changed = true;
      }
    }
  }
  const out = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const d = ipdom[i] as number;
    if (d >= 0) out.set(g.ids[i] as string, g.ids[d] as string);
  }
  return out;
}
