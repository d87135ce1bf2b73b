/**
 * @module realms/journey/types
 * The journey realm's shapes: the SOP, workflow and coexistence artifacts of DOMAIN.md
 * section 3.4, and {@link FlowSpec}, the neutral description of a process that the BPMN
 * writer turns into BPMN 2.0 XML with diagram layout (from an SOP, or from a blueprint).
 */

export type SopRole = { id: string; name: string; kind: 'human' | 'ai' | 'system' };

export interface SopStep {
  /** Hierarchical number: '4', '4.2'. */
  number: string;
  title: string;
  /** Role id (see {@link Sop.roles}). */
  actor: string;
  inputs: string[];
  outputs: string[];
  /** Id of the BPMN element this step stands for. */
  bpmnRef: string;
  decision?: { question: string; branches: { condition: string; goTo: string }[] };
  exceptions: { trigger: string; handling: string; bpmnRef: string }[];
  parallelGroup?: string;
  substeps?: SopStep[];
  /** BPMN type of `bpmnRef` without prefix (`userTask`, `exclusiveGateway`, …), when generated from BPMN. */
  bpmnType?: string;
  /** Longer text of the step (the element's documentation and annotations). */
  description?: string;
  /**
   * Where the procedure continues when it is not simply the following step: step numbers,
   * or 'end' (the enclosing process or sub-process ends). Absent: the following step in
   * number order, or the end after the last step. Decisions route through `decision` instead.
   */
  next?: string[];
}

export interface Sop {
  title: string;
  purpose: string;
  scope: string;
  markdown: string;
  roles: SopRole[];
  steps: SopStep[];
  /** Problems met while importing the BPMN the SOP was generated from: listed, never dropped. */
  warnings?: { elementId?: string; message: string }[];
}

/** Body of a `workflow` artifact: the BPMN lives in a blob, the graph is summarised here. */
export interface Workflow {
  xmlBlobId: string;
  lint: { rule: string; elementId: string; message: string }[];
  lanes: { id: string; name: string }[];
  nodes: { id: string; type: string; name?: string; lane?: string }[];
  flows: { from: string; to: string; condition?: string }[];
}

export type Classification = 'ai' | 'human' | 'hybrid';

export interface CoexistenceAnalysis {
  workflowId: string;
  tasks: { bpmnRef: string; classification: Classification; score: number; reasons: { cue: string; weight: number }[] }[];
  potential: {
    ai: number;
    human: number;
    hybrid: number;
    /** (ai + hybrid / 2) / tasks */
    automatableShare: number;
    handoffs: [before: number, after: number];
    waitPoints: [before: number, after: number];
    /** Flow nodes on the longest start-to-end path. */
    criticalPathLength: [before: number, after: number];
  };
  recommendations?: {
    kind: 'automate' | 'merge-handoffs' | 'parallelise' | 'remove-wait' | 'add-escalation';
    bpmnRefs: string[];
    rationale: string;
  }[];
}

export interface CoexistenceBlueprint {
  analysisId: string;
  /** The blueprint's BPMN (lanes 'AI' + human roles, with DI). */
  workflowId: string;
  report: string;
  handoffs: { from: string; to: string; direction: 'ai-to-human' | 'human-to-ai'; payload: string[] }[];
  decisionPoints: { bpmnRef: string; owner: 'human' | 'ai'; criteria: string }[];
  escalations: { fromTask: string; when: string; toRole: string }[];
}

/** BPMN flow-node types the writer draws (bpmn-moddle type names without the `bpmn:` prefix). */
export const FLOW_NODE_TYPES = [
  'startEvent',
  'endEvent',
  'intermediateCatchEvent',
  'intermediateThrowEvent',
  'boundaryEvent',
  'task',
  'userTask',
  'manualTask',
  'serviceTask',
  'scriptTask',
  'businessRuleTask',
  'sendTask',
  'receiveTask',
  'callActivity',
  'subProcess',
  'exclusiveGateway',
  'inclusiveGateway',
  'parallelGateway',
  'eventBasedGateway',
  'complexGateway',
] as const;

export type FlowNodeType = (typeof FLOW_NODE_TYPES)[number];

export interface FlowNodeSpec {
  id: string;
  type: FlowNodeType;
  name?: string;
  /** Lane id within the node's pool; omitted for a pool without lanes. */
  lane?: string;
  documentation?: string;
  /** Event definition of an event node. */
  event?: 'message' | 'timer' | 'error' | 'escalation' | 'signal' | 'conditional';
  /** Timer events: ISO-8601 duration, e.g. 'PT24H'. */
  timerDuration?: string;
  /** Boundary events: the activity they are attached to, and whether they interrupt it. */
  attachedTo?: string;
  cancelActivity?: boolean;
  /** Sub-processes: their own nodes and flows. */
  children?: { nodes: FlowNodeSpec[]; flows: SequenceFlowSpec[] };
  /** Sub-processes: an event sub-process, started by its typed start event instead of by flows. */
  triggeredByEvent?: boolean;
}

export interface SequenceFlowSpec {
  id: string;
  from: string;
  to: string;
  name?: string;
  condition?: string;
  /** The gateway's default flow. */
  isDefault?: boolean;
}

export interface PoolSpec {
  /** Participant id; the process id is `processId`. */
  id: string;
  name: string;
  processId: string;
  lanes: { id: string; name: string }[];
  nodes: FlowNodeSpec[];
  flows: SequenceFlowSpec[];
}

/** A whole collaboration: pools (one process each) and message flows between them. */
export interface FlowSpec {
  id: string;
  name: string;
  pools: PoolSpec[];
  messageFlows: { id: string; from: string; to: string; name?: string }[];
}
