/**
 * A small JSON Schema checker for the subset the OpenAPI generator emits (type, properties,
 * required, additionalProperties, items, enum, const, anyOf, oneOf, allOf, $ref into
 * components, numeric and string bounds, pattern). Returns the failures, `[]` when the value
 * conforms. Unknown keywords fail loudly, so a schema the checker cannot judge is not passed.
 */
type Schema = Record<string, unknown>;

const IGNORED = new Set(['description', 'example', 'examples', 'default', 'title', 'format', 'deprecated', 'readOnly', 'writeOnly']);
const CHECKED = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'const',
  'anyOf',
  'oneOf',
  'allOf',
  '$ref',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'propertyNames',
]);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export function checkSchema(value: unknown, schema: unknown, root: { components?: { schemas?: Record<string, unknown> } }, at = '$'): string[] {
  if (schema === true || (typeof schema === 'object' && schema !== null && Object.keys(schema).length === 0)) return [];
  if (schema === false) return [`${at}: no value allowed`];
  const s = schema as Schema;
  const errors: string[] = [];
  for (const key of Object.keys(s)) {
    if (!CHECKED.has(key) && !IGNORED.has(key)) errors.push(`${at}: schema keyword ${key} is not supported by the checker`);
  }
  if (typeof s.$ref === 'string') {
    const name = s.$ref.replace('#/components/schemas/', '');
    const target = root.components?.schemas?.[name];
    if (!target) return [`${at}: unresolved ${s.$ref}`];
    errors.push(...checkSchema(value, target, root, at));
  }
  const t = typeOf(value);
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) return [...errors, `${at}: ${t} is not ${types.join('|')}`];
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => e === value)) errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
  if ('const' in s && s.const !== value) errors.push(`${at}: ${JSON.stringify(value)} is not ${JSON.stringify(s.const)}`);
  if (Array.isArray(s.allOf)) for (const sub of s.allOf) errors.push(...checkSchema(value, sub, root, at));
  if (Array.isArray(s.anyOf) && !s.anyOf.some((sub) => checkSchema(value, sub, root, at).length === 0)) errors.push(`${at}: matches no anyOf branch`);
  if (Array.isArray(s.oneOf) && s.oneOf.filter((sub) => checkSchema(value, sub, root, at).length === 0).length !== 1) errors.push(`${at}: does not match exactly one oneOf branch`);
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) errors.push(`${at}: below ${s.minimum}`);
    if (typeof s.maximum === 'number' && value > s.maximum) errors.push(`${at}: above ${s.maximum}`);
    if (typeof s.exclusiveMinimum === 'number' && value <= s.exclusiveMinimum) errors.push(`${at}: not above ${s.exclusiveMinimum}`);
    if (typeof s.exclusiveMaximum === 'number' && value >= s.exclusiveMaximum) errors.push(`${at}: not below ${s.exclusiveMaximum}`);
  }
  if (typeof value === 'string') {
    if (typeof s.minLength === 'number' && value.length < s.minLength) errors.push(`${at}: shorter than ${s.minLength}`);
    if (typeof s.maxLength === 'number' && value.length > s.maxLength) errors.push(`${at}: longer than ${s.maxLength}`);
    if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(value)) errors.push(`${at}: does not match ${s.pattern}`);
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === 'number' && value.length < s.minItems) errors.push(`${at}: fewer than ${s.minItems} items`);
    if (typeof s.maxItems === 'number' && value.length > s.maxItems) errors.push(`${at}: more than ${s.maxItems} items`);
    if (s.items !== undefined) value.forEach((item, i) => errors.push(...checkSchema(item, s.items, root, `${at}[${i}]`)));
  }
  if (t === 'object') {
    const obj = value as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, unknown>;
    for (const key of (s.required ?? []) as string[]) if (!(key in obj)) errors.push(`${at}: missing ${key}`);
    for (const [key, v] of Object.entries(obj)) {
      if (key in props) errors.push(...checkSchema(v, props[key], root, `${at}.${key}`));
      else if (s.additionalProperties === false) errors.push(`${at}: unexpected property ${key}`);
      else if (s.additionalProperties !== undefined && s.additionalProperties !== true) errors.push(...checkSchema(v, s.additionalProperties, root, `${at}.${key}`));
      if (s.propertyNames !== undefined) errors.push(...checkSchema(key, s.propertyNames, root, `${at}{${key}}`));
    }
  }
  return errors;
}
