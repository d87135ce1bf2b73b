/**
 * @module bench/lib/bpmn
 * Generated BPMN for the journey benchmark: one process of an exact number of flow nodes.
 */

/**
 * A process of exactly `total` flow nodes (boundary events included): start, blocks cycling
 * through sequence / exclusive choice / parallel block / loop / boundary error with handler,
 * tasks to fill, end. Tasks rotate over four lanes and five task types.
 */
export function generatedProcess(total: number): string {
  const nodes: string[] = [];
  const flows: string[] = [];
  const lanes: string[][] = [[], [], [], []];
  const types = ['userTask', 'serviceTask', 'task', 'manualTask', 'scriptTask'];
  let ids = 0;
  let count = 0;
  const node = (xml: (id: string) => string, lane = true): string => {
    const id = `N${++ids}`;
    nodes.push(xml(id));
    if (lane) lanes[ids % 4]?.push(id);
    count++;
    return id;
  };
  const task = () => node((id) => `<${types[ids % 5]} id="${id}" name="Handle item ${id}"/>`);
  const gw = (kind: string, name?: string) => node((id) => `<${kind} id="${id}"${name ? ` name="${name}"` : ''}/>`);
  let flowNo = 0;
  const flow = (from: string, to: string, cond?: string) => {
    const id = `F${++flowNo}`;
    flows.push(
      cond
        ? `<sequenceFlow id="${id}" name="${cond}" sourceRef="${from}" targetRef="${to}"><conditionExpression xsi:type="tFormalExpression">\${${cond}}</conditionExpression></sequenceFlow>`
        : `<sequenceFlow id="${id}" sourceRef="${from}" targetRef="${to}"/>`,
    );
  };
  let cur = node((id) => `<startEvent id="${id}" name="Start"/>`);
  const reserveEnd = 1;
  const blocks: [number, () => void][] = [
    [3, () => {
      for (let i = 0; i < 3; i++) {
        const t = task();
        flow(cur, t);
        cur = t;
      }
    }],
    [6, () => {
      const s = gw('exclusiveGateway', 'Which way?');
      flow(cur, s);
      const j = (() => {
        const a1 = task();
        const a2 = task();
        const b1 = task();
        const b2 = task();
        const join = gw('exclusiveGateway');
        flow(s, a1, 'left');
        flow(a1, a2);
        flow(a2, join);
        flow(s, b1, 'right');
        flow(b1, b2);
        flow(b2, join);
        return join;
      })();
      cur = j;
    }],
    [5, () => {
      const s = gw('parallelGateway');
      flow(cur, s);
      const join = (() => {
        const ts = [task(), task(), task()];
        const j = gw('parallelGateway');
        for (const t of ts) {
          flow(s, t);
          flow(t, j);
        }
        return j;
      })();
      cur = join;
    }],
    [4, () => {
      const j = gw('exclusiveGateway');
      flow(cur, j);
      const a = task();
      const b = task();
      const s = gw('exclusiveGateway', 'Again?');
      flow(j, a);
      flow(a, b);
      flow(b, s);
      flow(s, j, 'again');
      cur = s;
    }],
    [4, () => {
      const t = task();
      flow(cur, t);
      const be = node((id) => `<boundaryEvent id="${id}" name="Failed" attachedToRef="${t}"><errorEventDefinition/></boundaryEvent>`, false);
      const h = task();
      const j = gw('exclusiveGateway');
      flow(be, h);
      flow(t, j);
      flow(h, j);
      cur = j;
    }],
  ];
  for (let b = 0; ; b++) {
    const [size, make] = blocks[b % blocks.length] as [number, () => void];
    if (count + size + reserveEnd > total) break;
    make();
  }
  while (count + reserveEnd < total) {
    const t = task();
    flow(cur, t);
    cur = t;
  }
  const end = node((id) => `<endEvent id="${id}" name="End"/>`);
  flow(cur, end);
  const laneXml = ['Clerk', 'Manager', 'Claims System', 'AI assistant']
    .map((name, i) => `<lane id="L${i}" name="${name}">${(lanes[i] ?? []).map((id) => `<flowNodeRef>${id}</flowNodeRef>`).join('')}</lane>`)
    .join('');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Generated" targetNamespace="http://symphainy.io/bench">` +
    `<process id="P" name="Generated process"><laneSet id="LS">${laneXml}</laneSet>${nodes.join('')}${flows.join('')}</process></definitions>`
  );
}

