/**
 * Shared checks for the BPMN writer's output: re-import with bpmn-moddle and diagram
 * interchange coverage (a shape for every pool, lane and flow node, an edge with waypoints
 * for every sequence and message flow).
 */
import { createModdle, type ModdleElement } from '../../../src/realms/journey/write/moddle.js';

export interface Bounds {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface DiReport {
  warnings: string[];
  /** Semantic elements by kind: ids. */
  participants: string[];
  lanes: string[];
  flowNodes: string[];
  sequenceFlows: string[];
  messageFlows: string[];
  /** DI by element id. */
  shapes: Map<string, { bounds: Bounds; isHorizontal?: boolean; isExpanded?: boolean }>;
  edges: Map<string, { x: number; y: number }[]>;
  /** Element by id, for further checks. */
  elements: Map<string, ModdleElement>;
  /** Flow node id → id of the sub-process it sits in (top-level nodes are absent). */
  parentOf: Map<string, string>;
}

const list = (el: ModdleElement, prop: string): ModdleElement[] => ((el.get(prop) as ModdleElement[] | undefined) ?? []).filter(Boolean);

export async function inspectBpmn(xml: string): Promise<DiReport> {
  const moddle = await createModdle();
  const { rootElement, warnings } = await moddle.fromXML(xml, 'bpmn:Definitions');
  const r: DiReport = {
    warnings: warnings.map((w) => w.message),
    participants: [],
    lanes: [],
    flowNodes: [],
    sequenceFlows: [],
    messageFlows: [],
    shapes: new Map(),
    edges: new Map(),
    elements: new Map(),
    parentOf: new Map(),
  };
  const keep = (el: ModdleElement): string => {
    const id = el.id as string;
    r.elements.set(id, el);
    return id;
  };
  const lanes = (laneSet: ModdleElement | undefined): void => {
    if (!laneSet) return;
    for (const l of list(laneSet, 'lanes')) {
      r.lanes.push(keep(l));
      lanes(l.get('childLaneSet') as ModdleElement | undefined);
    }
  };
  const container = (c: ModdleElement, parent: string | undefined): void => {
    for (const fe of list(c, 'flowElements')) {
      const id = keep(fe);
      if (fe.$type === 'bpmn:SequenceFlow') r.sequenceFlows.push(id);
      else if (fe.$type !== 'bpmn:DataObject' && fe.$type !== 'bpmn:DataObjectReference' && fe.$type !== 'bpmn:DataStoreReference') {
        r.flowNodes.push(id);
        if (parent !== undefined) r.parentOf.set(id, parent);
        if (fe.$type === 'bpmn:SubProcess') container(fe, id);
      }
    }
  };
  for (const root of list(rootElement, 'rootElements')) {
    if (root.$type === 'bpmn:Collaboration') {
      for (const p of list(root, 'participants')) r.participants.push(keep(p));
      for (const m of list(root, 'messageFlows')) r.messageFlows.push(keep(m));
    } else if (root.$type === 'bpmn:Process') {
      for (const ls of list(root, 'laneSets')) lanes(ls);
      container(root, undefined);
    }
  }
  for (const d of list(rootElement, 'diagrams')) {
    const plane = d.get('plane') as ModdleElement;
    for (const pe of list(plane, 'planeElement')) {
      const target = pe.get('bpmnElement') as ModdleElement | undefined;
      if (!target?.id) continue;
      if (pe.$type === 'bpmndi:BPMNShape') {
        const b = pe.get('bounds') as ModdleElement;
        const shape: { bounds: Bounds; isHorizontal?: boolean; isExpanded?: boolean } = {
          bounds: { x: b.x as number, y: b.y as number, width: b.width as number, height: b.height as number },
        };
        if (pe.isHorizontal !== undefined) shape.isHorizontal = pe.isHorizontal as boolean;
        if (pe.isExpanded !== undefined) shape.isExpanded = pe.isExpanded as boolean;
        r.shapes.set(target.id, shape);
      } else if (pe.$type === 'bpmndi:BPMNEdge') {
        r.edges.set(
          target.id,
          list(pe, 'waypoint').map((p) => ({ x: p.x as number, y: p.y as number })),
        );
      }
    }
  }
  return r;
}

/** Ids that lack DI, by kind; all empty for a complete diagram. */
export function missingDi(r: DiReport): Record<string, string[]> {
  const noShape = (ids: string[]) => ids.filter((id) => !r.shapes.has(id));
  const noEdge = (ids: string[]) => ids.filter((id) => (r.edges.get(id)?.length ?? 0) < 2);
  return {
    participants: noShape(r.participants),
    lanes: noShape(r.lanes),
    flowNodes: noShape(r.flowNodes),
    sequenceFlows: noEdge(r.sequenceFlows),
    messageFlows: noEdge(r.messageFlows),
  };
}

export function inside(child: Bounds, parent: Bounds): boolean {
  return child.x >= parent.x && child.y >= parent.y && child.x + child.width <= parent.x + parent.width && child.y + child.height <= parent.y + parent.height;
}
