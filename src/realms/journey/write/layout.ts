/**
 * @module realms/journey/write/layout
 * Layered layout of a {@link FlowSpec} for BPMN diagram interchange (DI).
 *
 * bpmn-auto-layout 1.x lays out the first pool only and draws neither lanes nor message
 * flows, so the writer lays out everything itself, deterministically (the same spec always
 * gives the same coordinates):
 * - **Layers.** Each process (pool or expanded sub-process) is layered along its sequence
 *   flows: a depth-first search from the start events marks back-edges (loops), and the
 *   longest path over the remaining acyclic graph gives each node its column. A flow leaving
 *   a boundary event counts as leaving the activity it is attached to.
 * - **Lanes.** A pool's lanes are horizontal bands sharing the pool's columns; within a band a
 *   node takes the row of its first placed predecessor (the n-th branch of a split goes n rows
 *   down), or the next free row of its column.
 * - **Pools** are stacked vertically with a gap, all as wide as the widest.
 * - **Sub-processes are drawn expanded**: their children are laid out by the same algorithm
 *   inside the sub-process shape, so one diagram shows the whole model, every element has
 *   its shape on one plane, and no child lies outside its parent's boundary.
 * - **Boundary events** sit on the lower border of their activity, spread from the right.
 * - **Edges** are orthogonal: forward flows leave right and enter left (via the bottom or top
 *   of a gateway when the rows differ), back-edges run above the rows they join, message
 *   flows run vertically between pools.
 */
import type { FlowNodeSpec, FlowSpec, SequenceFlowSpec } from '../types.js';

export interface Bounds {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

/** Coordinates of every shape and edge of a collaboration, keyed by BPMN element id. */
export interface DiagramLayout {
  /** Participant shapes, by pool id. */
  pools: Map<string, Bounds>;
  /** Lane shapes, by lane id. */
  lanes: Map<string, Bounds>;
  /** Flow-node shapes, by node id; `expanded` is set for sub-processes drawn open. */
  nodes: Map<string, Bounds & { expanded?: boolean }>;
  /** Sequence-flow and message-flow waypoints, by flow id. */
  edges: Map<string, Point[]>;
}

/** Shape sizes, as bpmn-js draws them by default. */
export const SIZE = {
  event: { width: 36, height: 36 },
  gateway: { width: 50, height: 50 },
  activity: { width: 100, height: 80 },
} as const;

const H_GAP = 50;
const V_GAP = 60;
const POOL_LABEL = 30;
const LANE_LABEL = 30;
const PAD_X = 30;
const PAD_Y = 30;
const MIN_BAND = 130;
const POOL_GAP = 40;
const SUB_PAD_X = 20;
const SUB_PAD_TOP = 30;
const SUB_PAD_BOTTOM = 30;
/** Distance between the centres of two boundary events on one border. */
const BOUNDARY_STEP = 44;

function isEvent(n: FlowNodeSpec): boolean {
  return n.type.endsWith('Event');
}

function isGateway(n: FlowNodeSpec): boolean {
  return n.type.endsWith('Gateway');
}

interface Box extends Bounds {
  expanded?: boolean;
}

/** Result of laying out one flow-element container at origin (0, 0). */
interface ContainerResult {
  width: number;
  height: number;
  /** Band tops and heights, in band order. */
  bands: { y: number; height: number }[];
  nodes: Map<string, Box>;
  edges: Map<string, Point[]>;
}

function translate(r: ContainerResult, dx: number, dy: number, into: { nodes: Map<string, Box>; edges: Map<string, Point[]> }): void {
  for (const [id, b] of r.nodes) into.nodes.set(id, { ...b, x: b.x + dx, y: b.y + dy });
  for (const [id, pts] of r.edges) into.edges.set(id, pts.map((p) => ({ x: p.x + dx, y: p.y + dy })));
}

/**
 * Lays out the nodes and flows of one process or sub-process. `bandOf` maps a node to its
 * band (lane) index; `bandCount` bands are stacked from y = 0, each at least `minBand` high;
 * content starts at x = `left`.
 */
function layoutContainer(
  nodes: readonly FlowNodeSpec[],
  flows: readonly SequenceFlowSpec[],
  opts: { bandCount: number; bandOf: (n: FlowNodeSpec) => number; left: number; top: number; bottom: number; right: number; minBand: number },
): ContainerResult {
  const byId = new Map(nodes.map((n) => [n.id, n] as const));
  const main = nodes.filter((n) => n.type !== 'boundaryEvent');
  const order = new Map(main.map((n, i) => [n.id, i] as const));
  const hostOf = (id: string): string => {
    const n = byId.get(id);
    return n?.type === 'boundaryEvent' && n.attachedTo ? n.attachedTo : id;
  };

  // Sizes, with sub-processes laid out first (their own coordinates, translated later).
  const inner = new Map<string, ContainerResult>();
  const size = new Map<string, { width: number; height: number }>();
  for (const n of nodes) {
    if (n.type === 'subProcess' && n.children && n.children.nodes.length > 0) {
      const r = layoutContainer(n.children.nodes, n.children.flows, {
        bandCount: 1,
        bandOf: () => 0,
        left: SUB_PAD_X,
        right: SUB_PAD_X,
        top: SUB_PAD_TOP,
        bottom: SUB_PAD_BOTTOM,
        minBand: SIZE.activity.height,
      });
      inner.set(n.id, r);
      size.set(n.id, { width: r.width, height: r.height });
    } else if (isEvent(n)) size.set(n.id, SIZE.event);
    else if (isGateway(n)) size.set(n.id, SIZE.gateway);
    else size.set(n.id, SIZE.activity);
  }

  // Graph over the non-boundary nodes; a boundary event's flows leave from its host.
  const succ = new Map<string, string[]>(main.map((n) => [n.id, []]));
  const layeringFlows: { from: string; to: string }[] = [];
  for (const f of flows) {
    const from = hostOf(f.from);
    if (!succ.has(from) || !succ.has(f.to) || from === f.to) continue;
    succ.get(from)?.push(f.to);
    layeringFlows.push({ from, to: f.to });
  }
  const indegree = new Map<string, number>(main.map((n) => [n.id, 0]));
  for (const e of layeringFlows) indegree.set(e.to, (indegree.get(e.to) ?? 0) + 1);

  // Back-edges: depth-first from start events, then from sources, then from anything left.
  const roots = [
    ...main.filter((n) => n.type === 'startEvent'),
    ...main.filter((n) => n.type !== 'startEvent' && (indegree.get(n.id) ?? 0) === 0),
    ...main,
  ];
  const state = new Map<string, 1 | 2>();
  const back = new Set<string>();
  for (const root of roots) {
    if (state.has(root.id)) continue;
    const stack: { id: string; i: number }[] = [{ id: root.id, i: 0 }];
    state.set(root.id, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { id: string; i: number };
      const next = succ.get(top.id) ?? [];
      if (top.i < next.length) {
        const to = next[top.i] as string;
        top.i++;
        const s = state.get(to);
        if (s === 1) back.add(`${top.id}\u0000${to}`);
        else if (s === undefined) {
          state.set(to, 1);
          stack.push({ id: to, i: 0 });
        }
      } else {
        state.set(top.id, 2);
        stack.pop();
      }
    }
  }
  const isBack = (from: string, to: string): boolean => from === to || back.has(`${from}\u0000${to}`);

  // Longest-path layering over the acyclic rest (Kahn, ties in spec order).
  const dagPred = new Map<string, string[]>(main.map((n) => [n.id, []]));
  const dagSucc = new Map<string, string[]>(main.map((n) => [n.id, []]));
  for (const e of layeringFlows) {
    if (isBack(e.from, e.to)) continue;
    dagPred.get(e.to)?.push(e.from);
    dagSucc.get(e.from)?.push(e.to);
  }
  const layer = new Map<string, number>();
  const remaining = new Map<string, number>(main.map((n) => [n.id, dagPred.get(n.id)?.length ?? 0]));
  const queue = main.filter((n) => remaining.get(n.id) === 0).map((n) => n.id);
  const topo: string[] = [];
  while (queue.length > 0) {
    const id = queue.shift() as string;
    topo.push(id);
    const l = Math.max(0, ...(dagPred.get(id) ?? []).map((p) => (layer.get(p) ?? 0) + 1));
    layer.set(id, l);
    for (const s of dagSucc.get(id) ?? []) {
      const left = (remaining.get(s) ?? 0) - 1;
      remaining.set(s, left);
      if (left === 0) queue.push(s);
    }
  }

  // Rows within bands: follow the first placed predecessor; the n-th branch goes n rows down.
  const band = new Map<string, number>(main.map((n) => [n.id, Math.min(Math.max(opts.bandOf(n), 0), opts.bandCount - 1)]));
  const placeOrder = [...topo].sort((a, b) => (layer.get(a) ?? 0) - (layer.get(b) ?? 0) || (order.get(a) ?? 0) - (order.get(b) ?? 0));
  // A node's branches in flow order, its own flows before those of its boundary events, so
  // the normal path stays straight and exception paths go down.
  const branchesOf = new Map<string, string[]>();
  for (const fromBoundary of [false, true]) {
    for (const f of flows) {
      const from = hostOf(f.from);
      if ((from !== f.from) !== fromBoundary || isBack(from, f.to) || !succ.has(f.to)) continue;
      const list = branchesOf.get(from) ?? [];
      if (!list.includes(f.to) && band.get(f.to) === band.get(from)) list.push(f.to);
      branchesOf.set(from, list);
    }
  }
  const row = new Map<string, number>();
  const used = new Set<string>();
  for (const id of placeOrder) {
    const b = band.get(id) ?? 0;
    const l = layer.get(id) ?? 0;
    let desired = 0;
    const pred = (dagPred.get(id) ?? []).find((p) => row.has(p) && band.get(p) === b);
    if (pred !== undefined) desired = (row.get(pred) ?? 0) + Math.max(0, branchesOf.get(pred)?.indexOf(id) ?? 0);
    let r = desired;
    while (used.has(`${b}:${l}:${r}`)) r++;
    used.add(`${b}:${l}:${r}`);
    row.set(id, r);
  }

  // Column widths, row heights, band heights.
  const layers = Math.max(0, ...[...layer.values()].map((l) => l + 1));
  const colW = Array.from({ length: layers }, () => 0);
  const rowH: number[][] = Array.from({ length: opts.bandCount }, () => []);
  for (const id of topo) {
    const s = size.get(id) ?? SIZE.activity;
    const l = layer.get(id) ?? 0;
    colW[l] = Math.max(colW[l] ?? 0, s.width);
    const rows = rowH[band.get(id) ?? 0] as number[];
    const r = row.get(id) ?? 0;
    while (rows.length <= r) rows.push(0);
    rows[r] = Math.max(rows[r] ?? 0, s.height);
  }
  const colX: number[] = [];
  let x = opts.left;
  for (let l = 0; l < layers; l++) {
    colX.push(x);
    x += (colW[l] ?? 0) + H_GAP;
  }
  const width = Math.max(x - (layers > 0 ? H_GAP : 0) + opts.right, opts.left + opts.right + SIZE.activity.width);
  const bands: { y: number; height: number }[] = [];
  const rowY: number[][] = [];
  let y = 0;
  for (let b = 0; b < opts.bandCount; b++) {
    const ys: number[] = [];
    let inside = opts.top;
    for (const h of rowH[b] ?? []) {
      ys.push(y + inside);
      inside += h + V_GAP;
    }
    const content = (rowH[b]?.length ?? 0) > 0 ? inside - V_GAP + opts.bottom : 0;
    const height = Math.max(content, opts.minBand);
    bands.push({ y, height });
    rowY.push(ys);
    y += height;
  }

  // Shapes.
  const out: ContainerResult = { width, height: y, bands, nodes: new Map(), edges: new Map() };
  for (const id of topo) {
    const s = size.get(id) ?? SIZE.activity;
    const l = layer.get(id) ?? 0;
    const b = band.get(id) ?? 0;
    const r = row.get(id) ?? 0;
    const cellX = colX[l] ?? opts.left;
    const cellY = rowY[b]?.[r] ?? 0;
    const cellH = rowH[b]?.[r] ?? s.height;
    const box: Box = {
      x: Math.round(cellX + ((colW[l] ?? s.width) - s.width) / 2),
      y: Math.round(cellY + (cellH - s.height) / 2),
      width: s.width,
      height: s.height,
    };
    const n = byId.get(id);
    if (n?.type === 'subProcess') box.expanded = inner.has(id);
    out.nodes.set(id, box);
    const sub = inner.get(id);
    if (sub) translate(sub, box.x, box.y, out);
  }
  const attached = new Map<string, FlowNodeSpec[]>();
  for (const n of nodes) {
    if (n.type !== 'boundaryEvent' || !n.attachedTo) continue;
    attached.set(n.attachedTo, [...(attached.get(n.attachedTo) ?? []), n]);
  }
  for (const [host, evs] of attached) {
    const h = out.nodes.get(host);
    if (!h) continue;
    // Along the lower border from the right, 44 apart; those that do not fit go on the upper border.
    const perSide = Math.max(1, Math.floor((h.width - 4) / BOUNDARY_STEP));
    evs.forEach((ev, k) => {
      const side = Math.floor(k / perSide);
      const cx = h.x + h.width - BOUNDARY_STEP / 2 - (k % perSide) * BOUNDARY_STEP;
      const cy = side % 2 === 0 ? h.y + h.height : h.y;
      out.nodes.set(ev.id, {
        x: Math.round(cx - SIZE.event.width / 2),
        y: Math.round(cy - SIZE.event.height / 2),
        ...SIZE.event,
      });
    });
  }

  // Edges.
  for (const f of flows) {
    const s = out.nodes.get(f.from);
    const t = out.nodes.get(f.to);
    const sn = byId.get(f.from);
    const tn = byId.get(f.to);
    if (!s || !t || !sn || !tn) continue;
    const host = sn.type === 'boundaryEvent' && sn.attachedTo !== undefined ? out.nodes.get(sn.attachedTo) : undefined;
    out.edges.set(f.id, route(s, t, sn, tn, isBack(hostOf(f.from), f.to), host));
  }
  return out;
}

const cx = (b: Bounds): number => Math.round(b.x + b.width / 2);
const cy = (b: Bounds): number => Math.round(b.y + b.height / 2);

function route(s: Bounds, t: Bounds, sn: FlowNodeSpec, tn: FlowNodeSpec, backEdge: boolean, host?: Bounds): Point[] {
  if (sn.type === 'boundaryEvent') {
    // An event on the upper border leaves upwards, around its activity.
    if (host && cy(s) <= host.y) {
      const above = Math.min(s.y, t.y) - 20;
      return [{ x: cx(s), y: s.y }, { x: cx(s), y: above }, { x: cx(t), y: above }, { x: cx(t), y: t.y }];
    }
    const start = { x: cx(s), y: s.y + s.height };
    if (t.x > s.x + s.width && cy(t) > start.y) return [start, { x: start.x, y: cy(t) }, { x: t.x, y: cy(t) }];
    const below = Math.max(start.y, t.y + t.height) + 20;
    return [start, { x: start.x, y: below }, { x: cx(t), y: below }, { x: cx(t), y: t.y + t.height }];
  }
  if (backEdge) {
    const above = Math.min(s.y, t.y) - 25;
    return [
      { x: cx(s), y: s.y },
      { x: cx(s), y: above },
      { x: cx(t), y: above },
      { x: cx(t), y: t.y },
    ];
  }
  const sy = cy(s);
  const ty = cy(t);
  if (sy === ty) return [{ x: s.x + s.width, y: sy }, { x: t.x, y: ty }];
  if (isGateway(sn)) {
    const start = { x: cx(s), y: ty > sy ? s.y + s.height : s.y };
    return [start, { x: start.x, y: ty }, { x: t.x, y: ty }];
  }
  if (isGateway(tn)) {
    const end = { x: cx(t), y: sy > ty ? t.y + t.height : t.y };
    return [{ x: s.x + s.width, y: sy }, { x: end.x, y: sy }, end];
  }
  const mx = Math.round(s.x + s.width + Math.min(H_GAP / 2, Math.max(1, (t.x - s.x - s.width) / 2)));
  return [
    { x: s.x + s.width, y: sy },
    { x: mx, y: sy },
    { x: mx, y: ty },
    { x: t.x, y: ty },
  ];
}

/** Lays out a whole collaboration; the spec is assumed valid (see the writer's checks). */
export function layoutFlow(spec: FlowSpec): DiagramLayout {
  const result: DiagramLayout = { pools: new Map(), lanes: new Map(), nodes: new Map(), edges: new Map() };
  const laid = spec.pools.map((pool) => {
    const laneIndex = new Map(pool.lanes.map((l, i) => [l.id, i] as const));
    const hasLanes = pool.lanes.length > 0;
    const r = layoutContainer(pool.nodes, pool.flows, {
      bandCount: Math.max(pool.lanes.length, 1),
      bandOf: (n) => (n.lane !== undefined ? (laneIndex.get(n.lane) ?? 0) : 0),
      left: POOL_LABEL + (hasLanes ? LANE_LABEL : 0) + PAD_X,
      right: PAD_X,
      top: PAD_Y,
      bottom: PAD_Y,
      minBand: MIN_BAND,
    });
    return { pool, r, hasLanes };
  });
  const width = Math.max(0, ...laid.map((p) => p.r.width));
  let y = 0;
  for (const { pool, r, hasLanes } of laid) {
    result.pools.set(pool.id, { x: 0, y, width, height: r.height });
    if (hasLanes) {
      pool.lanes.forEach((lane, i) => {
        const b = r.bands[i];
        if (b) result.lanes.set(lane.id, { x: POOL_LABEL, y: y + b.y, width: width - POOL_LABEL, height: b.height });
      });
    }
    translate(r, 0, y, result);
    y += r.height + POOL_GAP;
  }

  // Message flows: vertical between the pools, with one horizontal jog in the gap above the lower pool.
  const poolOfNode = new Map<string, string>();
  const collect = (poolId: string, nodes: readonly FlowNodeSpec[]): void => {
    for (const n of nodes) {
      poolOfNode.set(n.id, poolId);
      if (n.children) collect(poolId, n.children.nodes);
    }
  };
  for (const p of spec.pools) collect(p.id, p.nodes);
  for (const mf of spec.messageFlows) {
    const s = result.nodes.get(mf.from) ?? result.pools.get(mf.from);
    const t = result.nodes.get(mf.to) ?? result.pools.get(mf.to);
    const sp = result.pools.get(poolOfNode.get(mf.from) ?? mf.from);
    const tp = result.pools.get(poolOfNode.get(mf.to) ?? mf.to);
    if (!s || !t || !sp || !tp) continue;
    const sIsPool = result.pools.has(mf.from);
    const tIsPool = result.pools.has(mf.to);
    const down = sp.y < tp.y;
    const sx = sIsPool ? (tIsPool ? cx(s) : cx(t)) : cx(s);
    const tx = tIsPool ? sx : cx(t);
    const start = { x: sx, y: down ? s.y + s.height : s.y };
    const end = { x: tx, y: down ? t.y : t.y + t.height };
    if (start.x === end.x) {
      result.edges.set(mf.id, [start, end]);
    } else {
      const jog = down ? tp.y - POOL_GAP / 2 : sp.y - POOL_GAP / 2;
      result.edges.set(mf.id, [start, { x: start.x, y: jog }, { x: end.x, y: jog }, end]);
    }
  }
  return result;
}
