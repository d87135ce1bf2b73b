import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importBpmn } from '../../src/realms/journey/import.js';
import { importBpmnOffThread } from '../../src/realms/journey/importThread.js';

function chain(n: number): Buffer {
  const tasks = Array.from({ length: n }, (_, i) => `<task id="T${i}" name="Task ${i}"/>`).join('');
  const flows = Array.from({ length: n - 1 }, (_, i) => `<sequenceFlow id="F${i}" sourceRef="T${i}" targetRef="T${i + 1}"/>`).join('');
  return Buffer.from(`<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="x"><process id="P">${tasks}${flows}</process></definitions>`);
}

/** The longest time between two ticks of a 5 ms interval while `work` runs. */
async function longestGap(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let gap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
  }, 5);
  try {
    await work();
    gap = Math.max(gap, performance.now() - last);
  } finally {
    clearInterval(timer);
  }
  return gap;
}

describe('importBpmnOffThread', { timeout: 60_000 }, () => {
  it('gives the same model and warnings on a worker thread', async () => {
    for (const path of ['../fixtures/journey/claims.bpmn', '../fixtures/journey/kitchen-sink.bpmn']) {
      const bytes = readFileSync(new URL(path, import.meta.url));
      const here = await importBpmn(bytes);
      const there = await importBpmnOffThread(bytes, { minBytes: 0 });
      expect(there.model).toEqual(here.model);
      expect(there.warnings).toEqual(here.warnings);
    }
    const reported = readFileSync('/work/shared/data/bpmn/data-input-association.assignment.bpmn');
    expect((await importBpmnOffThread(reported, { minBytes: 0 })).warnings).toEqual((await importBpmn(reported)).warnings);
  });

  it('carries typed refusals back from the worker', async () => {
    const doctype = Buffer.from('<?xml version="1.0"?><!DOCTYPE d><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>');
    await expect(importBpmnOffThread(doctype, { minBytes: 0 })).rejects.toMatchObject({ name: 'AppError', code: 'unsafe-content' });
    const big = chain(50);
    await expect(importBpmnOffThread(big, { minBytes: 0, maxBytes: 100 })).rejects.toMatchObject({ code: 'payload-too-large', extras: { maxBytes: 100 } });
  });

  it('keeps the event loop free while a large document is read', async () => {
    const bytes = chain(6000);
    const blocked = await longestGap(() => importBpmn(bytes));
    const free = await longestGap(() => importBpmnOffThread(bytes, { minBytes: 0 }));
    expect(blocked).toBeGreaterThan(100);
    expect(free).toBeLessThan(blocked / 2);
  });
});
