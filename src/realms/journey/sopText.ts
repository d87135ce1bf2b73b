/**
 * @module realms/journey/sopText
 * Reading an SOP someone wrote: {@link parseSopDocument} takes a JSON SOP (checked against
 * {@link SopSchema}), Markdown (including what `renderSopMarkdown` produces) or plain
 * numbered text, and returns a {@link Sop}. The text reader is deterministic; it recognises:
 * - a title: the first level-1 Markdown heading, else `Title:`, else the first line that is
 *   not a step or a section;
 * - sections `Purpose`, `Scope`, `Roles` and `Steps`/`Procedure` as Markdown headings or as
 *   `Label:` lines (with the text on the same line or below);
 * - roles listed as `- Name (human|ai|system)` or `- Name: kind`, and any `Role: action`
 *   prefix of a step (`Claims handler: review the claim`);
 * - steps numbered `1.`, `1)`, `1.2`, `Step 3:`, lettered `a)`/`a.` (a substep of the step
 *   above), or nested by indentation; the written numbers are kept when they agree with the
 *   position, and `go to step N` is read against the written numbers;
 * - decisions: `If <condition>, go to step N` and `Otherwise, go to step M` lines under a
 *   step (or in the step's own sentence); a step that is only such a sentence is a pure
 *   decision point whose title is its question; a step written as conditional actions
 *   (`If the amount is high, Manager: approve it. Otherwise, book it.`) becomes a decision
 *   point followed by one step per action, all continuing with the next written step;
 * - `Inputs:`, `Outputs:`, `Actor:`/`Role:`/`Performed by:` lines, `Exception: <trigger> ->
 *   <handling>` lines, and `In parallel:` steps whose substeps run in parallel;
 * - the Markdown of `renderSopMarkdown`: `### 4.2. Title` headings, the roles table (its Id
 *   column kept as role id), `Actor:`, `Decision:` with `condition → step N` items,
 *   `Exceptions:` items `trigger: handling (bpmnRef)`, `Next:`, `In parallel:`, `BPMN: id
 *   (type)` and quoted descriptions.
 * Lines longer than {@link SOP_MAX_LINE} characters are refused, which bounds the work any
 * pattern can do on one line.
 * Bad input fails with `parse-error` (with `position.line` and `reason`) or, for JSON that is
 * not an SOP, `params-invalid` (with `errors[]` paths).
 */
import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { Sop, SopRole, SopStep } from './types.js';

const RoleSchema = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  kind: z.enum(['human', 'ai', 'system']),
});

const StepSchema: z.ZodType<SopStep> = z.lazy(() =>
  z.object({
    number: z.string().regex(/^\d+(\.\d+)*$/, 'must be a step number such as 4 or 4.2'),
    title: z.string().min(1),
    actor: z.string().default(''),
    inputs: z.array(z.string()).default([]),
    outputs: z.array(z.string()).default([]),
    bpmnRef: z.string().default(''),
    decision: z
      .object({
        question: z.string(),
        branches: z.array(z.object({ condition: z.string(), goTo: z.string() })),
      })
      .optional(),
    exceptions: z.array(z.object({ trigger: z.string(), handling: z.string(), bpmnRef: z.string().default('') })).default([]),
    parallelGroup: z.string().optional(),
    substeps: z.array(StepSchema).optional(),
    bpmnType: z.string().optional(),
    description: z.string().optional(),
    next: z.array(z.string()).optional(),
  }),
) as z.ZodType<SopStep>;

/** A JSON SOP as `generate_sop` produces it; optional parts of hand-written ones default. */
export const SopSchema: z.ZodType<Sop> = z.object({
  title: z.string().min(1),
  purpose: z.string().default(''),
  scope: z.string().default(''),
  markdown: z.string().default(''),
  roles: z.array(RoleSchema).default([]),
  steps: z.array(StepSchema).min(1, 'an SOP needs at least one step'),
  warnings: z.array(z.object({ elementId: z.string().optional(), message: z.string() })).optional(),
}) as z.ZodType<Sop>;

function parseError(reason: string, line?: number): AppError {
  return new AppError('parse-error', line === undefined ? `SOP: ${reason}` : `SOP line ${line}: ${reason}`, {
    extras: { reason, ...(line === undefined ? {} : { position: { line } }) },
  });
}

/** Checks a parsed JSON value against {@link SopSchema}. */
export function validateSop(value: unknown): Sop {
  const parsed = SopSchema.safeParse(value);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
    throw new AppError('params-invalid', `SOP JSON failed validation: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, {
      extras: { errors },
    });
  }
  const sop = parsed.data;
  const numbers = new Set<string>();
  const walk = (steps: readonly SopStep[], path: string): void => {
    steps.forEach((s, i) => {
      if (numbers.has(s.number)) {
        throw new AppError('params-invalid', `SOP JSON failed validation: ${path}.${i}.number: step number ${s.number} is used twice`, {
          extras: { errors: [{ path: `${path}.${i}.number`, message: `step number ${s.number} is used twice` }] },
        });
      }
      numbers.add(s.number);
      if (s.substeps) walk(s.substeps, `${path}.${i}.substeps`);
    });
  };
  walk(sop.steps, 'steps');
  return sop;
}

/**
 * Reads an SOP from a document: JSON when it starts with `{` (or its file `name` ends with
 * `.json`), otherwise Markdown or plain numbered text (see the module notes).
 */
export function parseSopDocument(text: string, options: { name?: string } = {}): Sop {
  const body = text.replace(/^\uFEFF/, '');
  if (body.trimStart().startsWith('{') || /\.json$/i.test(options.name ?? '')) {
    let value: unknown;
    try {
      value = JSON.parse(body) as unknown;
    } catch (e) {
      throw parseError(`not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    return validateSop(value);
  }
  return parseSopText(body);
}

// ---------------------------------------------------------------------------------------
// Plain text and Markdown.

interface RawStep {
  /** Written label: '3', '3.2', 'a'. */
  label: string;
  level: number;
  indent: number;
  text: string;
  line: number;
  actor: string;
  inputs: string[];
  outputs: string[];
  branches: { condition: string; goTo: string; line: number }[];
  exceptions: { trigger: string; handling: string; bpmnRef?: string }[];
  parallel: boolean;
  children: RawStep[];
  parent?: RawStep;
  /** What the Markdown of `renderSopMarkdown` states explicitly. */
  question?: string;
  bpmnRef?: string;
  bpmnType?: string;
  group?: string;
  next?: { refs: string[]; line: number };
  description: string[];
  /** The list the following indented bullets belong to. */
  mode?: 'decision' | 'exceptions';
}

const HEADING = /^(#{1,6})[ \t]+(\S.*)$/;
/** Longest line read, in characters: a line is a step or a remark, not a document. */
export const SOP_MAX_LINE = 10_000;
const SECTION_LABEL = /^(?:\*\*|__)?(purpose|scope|roles?|steps|procedure|responsibilities|title)(?:\*\*|__)?\s*:?\s*(?:\*\*|__)?\s*(.*)$/i;
const NUMBERED = /^(?:step\s+)?(\d+(?:\.\d+)*)(?:[.)]|:)?\s+(.+)$/i;
const LETTERED = /^([a-z])[.)]\s+(.+)$/;
const BULLET = /^[-*+]\s+(.+)$/;
const GO_TO = /\b(?:go(?:es)?\s+(?:back\s+)?to|continue\s+(?:with|at)|proceed\s+(?:to|with)|return\s+to|skip\s+to|repeat\s+from|jump\s+to|restart\s+(?:at|from))\s+step\s+(\d+[a-z]?(?:\.\d+)*)/i;
const ENDS = /\b(?:end(?:s)?\s+the\s+(?:process|procedure)|stop|the\s+process\s+ends|close\s+the\s+case|end\s+here|process\s+ends)\b/i;
const ROLE_PREFIX = /^(?:\*\*|__)?([\p{L}][\p{L}\p{N} &/'’-]{0,40}?)(?:\*\*|__)?\s*:\s+(.+)$/u;
const NOT_ROLES = new Set(['if', 'otherwise', 'else', 'note', 'notes', 'input', 'inputs', 'output', 'outputs', 'exception', 'exceptions', 'when', 'then', 'step', 'actor', 'role', 'performed by', 'decision', 'tip', 'warning', 'example', 'on error', 'escalation']);

/** Removes emphasis, code and link markup; backslash escapes stand for the character itself. */
function stripMarkdown(s: string): string {
  const escaped: string[] = [];
  const held = s.replace(/\\([\\`*_[\]<>|#])/g, (_m, c: string) => {
    escaped.push(c);
    return `\uE000${escaped.length - 1}\uE001`;
  });
  return held
    .replace(/\*\*(.+?)\*\*/g, '$1')
    .replace(/__(.+?)__/g, '$1')
    .replace(/``\s?(.*?)\s?``/g, '$1')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\uE000(\d+)\uE001/g, (_m, i: string) => escaped[Number(i)] ?? '')
    .trim();
}

/** Table cells of a Markdown row, split on unescaped pipes. */
function cellsOf(row: string): string[] {
  return row
    .trim()
    .replace(/^\|/, '')
    .replace(/(?<!\\)\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => stripMarkdown(c));
}

function capitalize(s: string): string {
  return s.length === 0 ? s : s[0]?.toUpperCase() + s.slice(1);
}

function roleId(name: string): string {
  const id = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return id || 'role';
}

/** Role kind from its wording: AI agents and bots, systems and services, else people. */
export function roleKind(name: string): SopRole['kind'] {
  if (/\b(ai|bot|agent|assistant|llm|model|robot|rpa)\b/i.test(name)) return 'ai';
  if (/\b(system|service|application|app|erp|crm|platform|database|engine|api|scheduler)\b/i.test(name)) return 'system';
  return 'human';
}

/** A heading's text without the closing hashes of `## Title ##`. */
function trimClosingHashes(text: string): string {
  let end = text.trimEnd().length;
  while (end > 0 && text[end - 1] === '#') end--;
  return text.slice(0, end).trimEnd() || text.trim();
}

const FLOW_VERB = /\b(?:go|continue|proceed|return|skip|repeat|jump|restart|end|stop|close)\b/i;

/** "If <condition>, go to step 5" → condition and the part from the verb on. */
function ifClause(clause: string): { condition: string; rest: string } | undefined {
  const head = /^(?:if|when|in case)\s/i.exec(clause);
  if (!head) return undefined;
  const body = clause.slice(head[0].length);
  const verb = FLOW_VERB.exec(body);
  if (!verb || verb.index === 0) return undefined;
  const condition = body
    .slice(0, verb.index)
    .trimEnd()
    .replace(/(?:,|:|\bthen)$/i, '')
    .trimEnd()
    .replace(/,$/, '')
    .trim();
  return condition ? { condition, rest: body.slice(verb.index) } : undefined;
}

/** An item of an "Exceptions:" list: `trigger: handling (bpmnRef)` (the handling may start with Go to / End / Note). */
function exceptionItem(item: string): { trigger: string; handling: string; bpmnRef?: string } | undefined {
  let text = item.trimEnd();
  let bpmnRef: string | undefined;
  if (text.endsWith(')')) {
    const open = text.lastIndexOf('(');
    const inner = open >= 0 ? text.slice(open + 1, -1) : '';
    if (open > 0 && inner.length > 0 && !/[\s()]/.test(inner)) {
      bpmnRef = inner;
      text = text.slice(0, open).trimEnd();
    }
  }
  // The handling starts at the last ": Go to …", ": End the …", ": Note it…" or ": Stop…", else at the last ": ".
  let at = -1;
  for (const m of text.matchAll(/: (?=go to\b|end the\b|note it\b|stop\b)/gi)) at = m.index;
  if (at < 0) at = text.lastIndexOf(': ');
  if (at <= 0) return undefined;
  return { trigger: text.slice(0, at).trim(), handling: text.slice(at + 2).trim(), ...(bpmnRef !== undefined ? { bpmnRef } : {}) };
}

/** Splits "If A, go to step 5; otherwise go to step 7." into branch clauses. */
function decisionClauses(text: string): { condition: string; goTo: string }[] | undefined {
  const clauses = text
    .split(/(?:[.;]\s+|\.\s*$|;\s*$|,\s+(?=otherwise\b|else\b))/i)
    .map((c) => c.trim())
    .filter((c) => c.length > 0);
  const out: { condition: string; goTo: string }[] = [];
  for (const clause of clauses) {
    const ifm = ifClause(clause);
    const otherwise = /^(?:otherwise|else|if not)\b[,:]?\s*(.*)$/i.exec(clause);
    if (ifm) out.push({ condition: stripMarkdown(ifm.condition), goTo: target(ifm.rest) });
    else if (otherwise) out.push({ condition: 'Otherwise', goTo: target(otherwise[1] as string) });
    else return undefined;
  }
  return out.length > 0 ? out : undefined;
}

function target(rest: string): string {
  const m = GO_TO.exec(rest);
  if (m) return m[1] as string;
  if (ENDS.test(rest) || /^\s*(?:end|stop)\b/i.test(rest)) return 'end';
  return '';
}

/** Splits a step text into the action and a trailing decision sentence, if any. */
function splitDecision(text: string): { action: string; branches?: { condition: string; goTo: string }[] } {
  const whole = decisionClauses(text);
  if (whole) return { action: '', branches: whole };
  const m = /^(.*?[.;:!?])\s+((?:if|when|in case)\b.*)$/i.exec(text);
  if (m) {
    const branches = decisionClauses(m[2] as string);
    if (branches) return { action: (m[1] as string).replace(/[.;:]\s*$/, ''), branches };
  }
  return { action: text };
}

/**
 * A step written as conditional actions: "If A, do X. Otherwise, do Y." (each clause a
 * condition with an action or a go-to). Undefined unless the whole text is such clauses and
 * at least one clause has an action.
 */
function actionClauses(text: string): { condition: string; action?: string; goTo: string }[] | undefined {
  const clauses = text
    .split(/(?:[.;]\s+|\.\s*$|;\s*$|,\s+(?=otherwise\b|else\b))/i)
    .map((c) => c.trim())
    .filter((c) => c.length > 0);
  const out: { condition: string; action?: string; goTo: string }[] = [];
  for (const clause of clauses) {
    let condition: string;
    let rest: string;
    const head = /^(?:if|when|in case)\s/i.exec(clause);
    const otherwise = /^(?:otherwise|else|if not)\b[,:]?\s*/i.exec(clause);
    if (head) {
      const body = clause.slice(head[0].length);
      const cut = /,\s|:\s|\sthen\s/i.exec(body);
      if (!cut || cut.index === 0) return undefined;
      condition = stripMarkdown(body.slice(0, cut.index).trim());
      rest = body.slice(cut.index + cut[0].length).trim();
    } else if (otherwise) {
      condition = 'Otherwise';
      rest = clause.slice(otherwise[0].length).trim();
    } else return undefined;
    const goTo = target(rest);
    if (goTo !== '' || rest === '') out.push({ condition, goTo });
    else out.push({ condition, action: rest, goTo: '' });
  }
  return out.some((c) => c.action !== undefined) ? out : undefined;
}

/**
 * Parses plain numbered text or Markdown into an SOP (see the module notes).
 *
 * @throws AppError `parse-error` when no step is found or a `go to step` names no step.
 */
export function parseSopText(text: string): Sop {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let title = '';
  const sections: Record<'purpose' | 'scope', string[]> = { purpose: [], scope: [] };
  let section: 'purpose' | 'scope' | 'roles' | 'steps' | 'other' | undefined;
  const roles: SopRole[] = [];
  const roleByName = new Map<string, SopRole>();
  let tableColumns: { name: number; kind: number; id: number } | undefined;
  const addRole = (name: string, kind?: SopRole['kind'], givenId?: string): SopRole => {
    const clean = stripMarkdown(name).trim();
    const key = clean.toLowerCase();
    const known = roleByName.get(key) ?? (givenId ? roles.find((r) => r.id === givenId) : roles.find((r) => r.id === roleId(clean)));
    if (known) return known;
    let id = givenId || roleId(clean);
    for (let i = 2; roles.some((r) => r.id === id); i++) id = `${givenId || roleId(clean)}-${i}`;
    const role: SopRole = { id, name: clean, kind: kind ?? roleKind(clean) };
    roles.push(role);
    roleByName.set(key, role);
    return role;
  };

  const top: RawStep[] = [];
  const stack: RawStep[] = [];
  let current: RawStep | undefined;

  const newStep = (label: string, level: number, indent: number, body: string, line: number): RawStep => {
    const step: RawStep = { label, level, indent, text: body, line, actor: '', inputs: [], outputs: [], branches: [], exceptions: [], parallel: false, children: [], description: [] };
    while (stack.length > 0 && (stack[stack.length - 1] as RawStep).level >= level) stack.pop();
    const parent = stack[stack.length - 1];
    if (parent) {
      step.parent = parent;
      parent.children.push(step);
    } else top.push(step);
    stack.push(step);
    current = step;
    return step;
  };

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const lineNo = i + 1;
    if (raw.length > SOP_MAX_LINE) throw parseError(`line is longer than ${SOP_MAX_LINE} characters`, lineNo);
    if (raw.trim() === '' || /^\s*(?:---+|\*\*\*+|```.*)\s*$/.test(raw)) continue;
    const indent = (/^\s*/.exec(raw.replace(/\t/g, '    '))?.[0].length ?? 0);
    const quoted = /^\s*>/.test(raw);
    let line = raw.trim().replace(/^>\s*/, '');
    if (quoted && current) {
      current.description.push(line);
      continue;
    }

    const heading = HEADING.exec(line);
    if (heading) {
      const level = (heading[1] as string).length;
      const label = stripMarkdown(trimClosingHashes(heading[2] as string));
      const named = /^(purpose|scope|roles?|steps|procedure|responsibilities)\b/i.exec(label);
      if (named) {
        const n = (named[1] as string).toLowerCase();
        section = n === 'purpose' ? 'purpose' : n === 'scope' ? 'scope' : n.startsWith('role') || n === 'responsibilities' ? 'roles' : 'steps';
        current = undefined;
        continue;
      }
      if (level === 1 && title === '') {
        title = label;
        continue;
      }
      // A heading that is itself a numbered step ("### 3. Review the claim") is a step.
      const numbered = NUMBERED.exec(label);
      if (numbered) {
        line = label;
      } else {
        if (title === '') title = label;
        section = 'other';
        current = undefined;
        continue;
      }
    }

    const label = SECTION_LABEL.exec(line);
    if (label && !NUMBERED.test(line)) {
      const n = (label[1] as string).toLowerCase();
      const rest = stripMarkdown(label[2] as string);
      if (n === 'title') {
        if (rest) title = rest;
        continue;
      }
      if (/^(purpose|scope)$/.test(n) || /^roles?$/.test(n) || n === 'responsibilities' || n === 'steps' || n === 'procedure') {
        if (n === 'role' && current && rest) {
          current.actor = addRole(rest).id;
          continue;
        }
        section = n === 'purpose' ? 'purpose' : n === 'scope' ? 'scope' : n === 'steps' || n === 'procedure' ? 'steps' : 'roles';
        current = undefined;
        if (rest && (section === 'purpose' || section === 'scope')) sections[section].push(rest);
        else if (rest && section === 'roles') for (const r of rest.split(/[,;]/)) if (r.trim()) addRole(r.replace(/\(.*\)/, ''), kindIn(r));
        continue;
      }
    }

    if (section === 'purpose' || section === 'scope') {
      if (!NUMBERED.test(line)) {
        sections[section].push(stripMarkdown(line.replace(BULLET, '$1')));
        continue;
      }
    }
    if (section === 'roles') {
      if (line.startsWith('|')) {
        const cells = cellsOf(line);
        if (cells.every((c) => /^:?-+:?$/.test(c) || c === '')) continue;
        if (!tableColumns) {
          const names = cells.map((c) => c.toLowerCase());
          tableColumns = {
            name: Math.max(names.findIndex((c) => c === 'role' || c === 'name'), 0),
            kind: names.indexOf('kind'),
            id: names.indexOf('id'),
          };
          continue;
        }
        const name = cells[tableColumns.name] ?? '';
        if (name === '' || name === '(none)') continue;
        const kind = tableColumns.kind >= 0 ? kindIn(cells[tableColumns.kind] ?? '') : kindIn(cells.join(' '));
        addRole(name, kind, tableColumns.id >= 0 ? cells[tableColumns.id] : undefined);
        continue;
      }
      const b = BULLET.exec(line);
      if (b) {
        const item = stripMarkdown(b[1] as string);
        const name = item.split(/\s*(?:\(|:|—|–| - )/)[0] ?? item;
        if (name) addRole(name, kindIn(item));
        continue;
      }
    }

    // Steps.
    const numbered = NUMBERED.exec(line);
    const lettered = numbered ? null : LETTERED.exec(line);
    if (numbered || lettered) {
      const written = (numbered ? numbered[1] : lettered?.[1]) as string;
      let body = stripMarkdown((numbered ? numbered[2] : lettered?.[2]) as string);
      let level: number;
      if (lettered) {
        const host = [...stack].reverse().find((s) => /^\d/.test(s.label));
        level = (host?.level ?? 0) + 1;
      } else if (written.includes('.')) {
        level = written.split('.').length;
      } else {
        // Plain "1." nested by indentation under a step written further left.
        const host = [...stack].reverse().find((s) => s.indent < indent);
        level = host ? host.level + 1 : 1;
      }
      if (section === undefined || section === 'other') section = 'steps';
      const step = newStep(written, level, indent, body, lineNo);
      const parallel = /^(?:in\s+parallel|parallel(?:ly)?|at the same time|simultaneously)\s*:?\s*(.*)$/i.exec(body);
      if (parallel) {
        step.parallel = true;
        body = parallel[1] ? parallel[1] : 'In parallel';
      }
      const role = ROLE_PREFIX.exec(body);
      if (role && !NOT_ROLES.has((role[1] as string).toLowerCase().trim()) && (role[1] as string).split(/\s+/).length <= 4) {
        step.actor = addRole(role[1] as string).id;
        body = capitalize(role[2] as string);
      }
      step.text = body;
      continue;
    }

    if (!current) {
      if (title === '' && section === undefined) title = stripMarkdown(line);
      continue;
    }

    // Lines under a step.
    const isBullet = BULLET.test(line);
    const item = stripMarkdown(line.replace(BULLET, '$1'));
    // Nested bullets of a "Decision:" or "Exceptions:" item (the Markdown of renderSopMarkdown).
    if (isBullet && indent > 0 && current.mode === 'decision') {
      const m = /^(.*?)\s*(?:→|->|=>)\s*(?:step\s+(\d+(?:\.\d+)*)|(end))(?:\s*\(and\s+([\d.,\s]+)\))?\s*$/i.exec(item);
      if (m) {
        const refs = m[3] ? ['end'] : [m[2] as string, ...(m[4] ? stepNumbersIn(m[4]) : [])];
        current.branches.push({ condition: m[1] as string, goTo: refs.join(', '), line: lineNo });
        continue;
      }
    }
    if (isBullet && indent > 0 && current.mode === 'exceptions') {
      const m = exceptionItem(item);
      if (m) {
        current.exceptions.push(m);
        continue;
      }
    }
    if (indent === 0 || !isBullet) current.mode = undefined;
    const labelled = /^([A-Za-z][A-Za-z ]{1,20}?)\s*:\s*(.*)$/.exec(item);
    const key = labelled?.[1]?.toLowerCase();
    const value = (labelled?.[2] ?? '').trim();
    if (key === 'inputs' || key === 'input' || key === 'outputs' || key === 'output') {
      const values = value.split(value.includes(';') ? /\s*;\s*/ : /\s*,\s*/).map((v) => v.replace(/\.$/, '').trim()).filter(Boolean);
      if (key.startsWith('in')) current.inputs.push(...values);
      else current.outputs.push(...values);
      continue;
    }
    if (key === 'actor' || key === 'role' || key === 'performed by' || key === 'owner' || key === 'responsible') {
      if (value) current.actor = addRole(value.replace(/\.$/, '')).id;
      continue;
    }
    if (key === 'bpmn') {
      const m = /^(\S+)(?:\s+\((\w+)\))?$/.exec(value);
      if (m) {
        current.bpmnRef = m[1] as string;
        if (m[2]) current.bpmnType = m[2];
      }
      continue;
    }
    if (key === 'in parallel') {
      const m = /group\s+(\S+)\s*$/i.exec(value);
      current.group = m ? (m[1] as string) : `parallel-${current.label}`;
      continue;
    }
    if (key === 'next') {
      current.next = { refs: /^end\b/i.test(value) ? ['end'] : [...value.matchAll(/\bstep\s+(\d+(?:\.\d+)*)|\b(end)\b/gi)].map((m) => m[1] ?? 'end'), line: lineNo };
      continue;
    }
    if (key === 'decision') {
      current.question = value;
      current.mode = 'decision';
      continue;
    }
    if (key === 'exceptions' && value === '') {
      current.mode = 'exceptions';
      continue;
    }
    const ex = /^(?:exceptions?|on exception|on error|error|escalation|if an? (?:error|exception) occurs)\s*[:,-]\s*(.+)$/i.exec(item);
    if (ex) {
      const [trigger, handling] = (ex[1] as string).split(/\s*(?:->|→|=>|—|–|:|;)\s*/, 2);
      current.exceptions.push({ trigger: (trigger ?? '').replace(/\.$/, ''), handling: (handling ?? 'Handle the exception').replace(/\.$/, '') });
      continue;
    }
    const decision = decisionClauses(item);
    if (decision) {
      for (const d of decision) current.branches.push({ ...d, line: lineNo });
      continue;
    }
    // A wrapped sentence continues the step's text; anything else is a note.
    if (/^[a-z(]/.test(item) && !/[.!?]$/.test(current.text)) current.text = `${current.text} ${item}`;
    else current.description.push(item);
  }

  if (top.length === 0) throw parseError('no numbered steps found (write steps as "1. …", "2. …")');
  return buildSop(title || 'Procedure', sections.purpose.join(' ').trim(), sections.scope.join(' ').trim(), roles, top, text, (name) => addRole(name));
}

function stepNumbersIn(text: string): string[] {
  return [...text.matchAll(/(\d+(?:\.\d+)*)/g)].map((m) => m[1] as string);
}

function kindIn(text: string): SopRole['kind'] | undefined {
  const m = /\b(human|ai|system)\b/i.exec(text);
  return m ? ((m[1] as string).toLowerCase() as SopRole['kind']) : undefined;
}

function buildSop(
  title: string,
  purpose: string,
  scope: string,
  roles: SopRole[],
  top: RawStep[],
  markdown: string,
  addRole: (name: string) => SopRole,
): Sop {
  // "If A, do X. Otherwise, do Y." becomes a decision point followed by one step per action
  // (each continuing after the last of them); labels starting with @ name these steps and
  // the step after them.
  const after = new Map<string, RawStep | undefined>();
  let made = 0;
  const expand = (list: RawStep[]): void => {
    for (let i = 0; i < list.length; i++) {
      const s = list[i] as RawStep;
      expand(s.children);
      if (s.branches.length > 0 || s.question !== undefined || s.children.length > 0) continue;
      const clauses = actionClauses(s.text);
      if (!clauses) continue;
      const group = `@after${++made}`;
      const added: RawStep[] = [];
      s.branches = clauses.map((c) => {
        if (c.action === undefined) return { condition: c.condition, goTo: c.goTo, line: s.line };
        const step: RawStep = { ...s, label: `@step${++made}`, text: capitalize(c.action), branches: [], exceptions: [], children: [], description: [], inputs: [], outputs: [] };
        delete step.bpmnRef;
        const role = ROLE_PREFIX.exec(c.action);
        if (role && !NOT_ROLES.has((role[1] as string).toLowerCase().trim()) && (role[1] as string).split(/\s+/).length <= 4) {
          step.actor = addRole(role[1] as string).id;
          step.text = capitalize(role[2] as string);
        }
        added.push(step);
        return { condition: c.condition, goTo: step.label, line: s.line };
      });
      if (!s.branches.some((b) => /^otherwise$/i.test(b.condition))) s.branches.push({ condition: 'Otherwise', goTo: group, line: s.line });
      for (const step of added.slice(0, -1)) step.next = { refs: [group], line: s.line };
      s.text = '';
      list.splice(i + 1, 0, ...added);
      i += added.length;
      after.set(group, list[i + 1]);
    }
  };
  expand(top);

  // Numbers by position; written labels (and letter labels like "3b") map to them for goTo.
  const numberOf = new Map<RawStep, string>();
  const byLabel = new Map<string, string>();
  const assign = (steps: RawStep[], prefix: string): void => {
    steps.forEach((s, i) => {
      const num = prefix ? `${prefix}.${i + 1}` : `${i + 1}`;
      numberOf.set(s, num);
      byLabel.set(num, num);
      // A nested "1." is written relative to its parent: "2." under "3." is step 3.2.
      if (s.label.startsWith('@')) byLabel.set(s.label, num);
      else if (/^\d/.test(s.label)) byLabel.set(s.parent && !s.label.includes('.') ? `${s.parent.label}.${s.label}` : s.label, num);
      else if (s.parent) byLabel.set(`${s.parent.label}${s.label}`, num);
      assign(s.children, num);
    });
  };
  assign(top, '');
  for (const [group, step] of after) byLabel.set(group, step ? (numberOf.get(step) as string) : 'end');
  // Written numbers win over positions when they differ (a list that starts at 0 or skips).
  const resolveOne = (goTo: string, line: number): string => {
    if (goTo === '' || goTo === 'end') return goTo;
    const hit = byLabel.get(goTo) ?? byLabel.get(goTo.replace(/([a-z])$/, '.$1'));
    if (hit === undefined) throw parseError(`"go to step ${goTo}" names no step`, line);
    return hit;
  };
  // "5, 6" (several steps at once, as renderSopMarkdown writes them) resolves each number.
  const resolve = (goTo: string, line: number): string =>
    goTo
      .split(/\s*,\s*/)
      .map((g) => resolveOne(g, line))
      .join(', ');

  const toStep = (s: RawStep, groupOfChildren?: string): SopStep => {
    const number = numberOf.get(s) as string;
    const split = s.branches.length > 0 || s.question !== undefined ? { action: s.text } : splitDecision(s.text);
    const branches = s.branches.length > 0 ? s.branches : (split.branches ?? []).map((b) => ({ ...b, line: s.line }));
    const action = split.action.replace(/[.;:]\s*$/, '').trim();
    const ref = s.bpmnRef ?? `Step_${number.replace(/\./g, '_')}`;
    const step: SopStep = {
      number,
      title: action,
      actor: s.actor,
      inputs: s.inputs,
      outputs: s.outputs,
      bpmnRef: ref,
      exceptions: s.exceptions.map((e, i) => ({ trigger: e.trigger, handling: e.handling, bpmnRef: e.bpmnRef ?? `${ref}_exception_${i + 1}` })),
    };
    if (s.bpmnType !== undefined) step.bpmnType = s.bpmnType;
    if (s.description.length > 0) step.description = s.description.join('\n').trim();
    if (branches.length > 0) {
      const first = branches.find((b) => !/^otherwise$/i.test(b.condition)) ?? branches[0];
      const question = s.question || `${capitalize((first?.condition ?? 'Decision').replace(/[?.]\s*$/, ''))}?`;
      step.decision = { question, branches: branches.map((b) => ({ condition: b.condition, goTo: resolve(b.goTo, b.line) })) };
      if (action === '') step.title = question;
    }
    if (s.next) {
      const line = s.next.line;
      step.next = s.next.refs.map((r) => resolve(r, line));
    }
    if (step.title === '') step.title = `Step ${number}`;
    const group = s.group ?? groupOfChildren;
    if (group !== undefined) step.parallelGroup = group;
    if (s.children.length > 0) {
      const childGroup = s.parallel ? `parallel-${number}` : undefined;
      step.substeps = s.children.map((c) => toStep(c, childGroup));
    }
    return step;
  };
  // An actor-less step keeps the actor of the step before it (or of its parent step).
  const inherit = (steps: RawStep[], actor: string): void => {
    let previous = actor;
    for (const s of steps) {
      if (s.actor === '') s.actor = previous;
      previous = s.actor;
      inherit(s.children, s.actor);
    }
  };
  inherit(top, '');
  return { title, purpose, scope, markdown, roles, steps: top.map((s) => toStep(s)) };
}
