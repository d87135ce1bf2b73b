/**
 * @module realms/journey/moddle
 * Structural reading of bpmn-moddle elements. The package's generated element types cover
 * only the BPMN schema, not vendor extensions or `$attrs`, so the journey realm reads
 * elements through {@link ModdleElementLike} and these narrowing helpers instead.
 */

/** Any element bpmn-moddle builds: a `$type`, usually an `id`, and schema properties. */
export interface ModdleElementLike {
  readonly $type: string;
  readonly id?: string;
  readonly $attrs?: Record<string, string>;
  readonly $parent?: ModdleElementLike;
  readonly [key: string]: unknown;
}

export function isElement(value: unknown): value is ModdleElementLike {
  return typeof value === 'object' && value !== null && typeof (value as { $type?: unknown }).$type === 'string';
}

/** The element in `prop`, if it is one (a reference that did not resolve is absent). */
export function child(e: ModdleElementLike, prop: string): ModdleElementLike | undefined {
  const v = e[prop];
  return isElement(v) ? v : undefined;
}

/** The elements in a many-valued `prop`; anything that is not an element is skipped. */
export function children(e: ModdleElementLike, prop: string): ModdleElementLike[] {
  const v = e[prop];
  if (Array.isArray(v)) return v.filter(isElement);
  return isElement(v) ? [v] : [];
}

export function str(e: ModdleElementLike, prop: string): string | undefined {
  const v = e[prop];
  return typeof v === 'string' ? v : undefined;
}

export function bool(e: ModdleElementLike, prop: string): boolean | undefined {
  const v = e[prop];
  return typeof v === 'boolean' ? v : undefined;
}

/**
 * True when `e` is of `type` or a subtype (`bpmn:Task` matches `bpmn:UserTask`). Uses the
 * element's own `$instanceOf`, which knows the metamodel's inheritance.
 */
export function instanceOf(e: ModdleElementLike, type: string): boolean {
  const f = e.$instanceOf;
  if (typeof f === 'function') return Boolean((f as (this: ModdleElementLike, t: string) => unknown).call(e, type));
  return e.$type === type;
}

/** `bpmn:UserTask` → `userTask`; a type of another package keeps its prefix. */
export function localType(type: string): string {
  if (!type.startsWith('bpmn:')) return type;
  const name = type.slice(5);
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** Trimmed text of an expression (`conditionExpression`, `timeDuration`, …). */
export function expressionText(e: ModdleElementLike | undefined): string | undefined {
  if (!e) return undefined;
  const body = str(e, 'body');
  const text = body?.trim();
  return text ? text : undefined;
}

/** The element's `documentation` texts joined by blank lines, or undefined when there are none. */
export function documentationOf(e: ModdleElementLike): string | undefined {
  const texts = children(e, 'documentation')
    .map((d) => plainText(str(d, 'text') ?? '', str(d, 'textFormat')))
    .filter((t) => t.length > 0);
  return texts.length > 0 ? texts.join('\n\n') : undefined;
}

const HTML_TAG = /<\/?(p|span|div|br|b|i|u|ul|ol|li|strong|em|font|h[1-6]|table|tr|td)\b[^>]*>/i;
const ENTITIES: Record<string, string> = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Documentation as plain text: HTML (declared `text/html`, or written as HTML by tools such
 * as Yaoqiang) loses its tags, keeps its paragraph breaks and decodes common entities.
 */
export function plainText(text: string, format?: string): string {
  if (format !== 'text/html' && !HTML_TAG.test(text)) return text.trim();
  return text
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|li|h[1-6]|tr)>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, ent: string) => {
      if (ent.startsWith('#x') || ent.startsWith('#X')) return String.fromCodePoint(parseInt(ent.slice(2), 16));
      if (ent.startsWith('#')) return String.fromCodePoint(parseInt(ent.slice(1), 10));
      return ENTITIES[ent.toLowerCase()] ?? m;
    })
    .split('\n')
    .map((l) => l.replace(/[ \t\u00a0]+/g, ' ').trim())
    .filter((l, i, all) => l.length > 0 || (i > 0 && (all[i - 1] ?? '').length > 0))
    .join('\n')
    .trim();
}
