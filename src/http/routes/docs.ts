/**
 * @module http/routes/docs
 * `GET /v1/openapi.json`, the OpenAPI 3.1 document generated from the routes' zod schemas,
 * and `GET /v1/docs`, a self-contained HTML reference rendered from that document (no
 * script, no CDN). Both are public: the document holds no tenant data.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { HttpApp } from '../env.js';
import { jsonResponse } from '../schemas.js';

export const docRoutes = {
  openapi: createRoute({
    method: 'get',
    path: '/v1/openapi.json',
    tags: ['docs'],
    summary: 'This OpenAPI document',
    operationId: 'openapi',
    security: [],
    responses: { 200: jsonResponse(z.record(z.string(), z.unknown()), 'The OpenAPI 3.1 document') },
  }),
  reference: createRoute({
    method: 'get',
    path: '/v1/docs',
    tags: ['docs'],
    summary: 'API reference page',
    operationId: 'reference',
    security: [],
    responses: { 200: { description: 'An HTML page listing every operation', content: { 'text/html': { schema: z.string() } } } },
  }),
};

type Doc = ReturnType<HttpApp['getOpenAPI31Document']>;

export const OPENAPI_INFO = {
  title: 'Symphainy',
  version: '0.1.0',
  description:
    'Durable XState actors over HTTP. Errors are `application/problem+json` with a stable `code`; every `/v1` call but the documentation needs `Authorization: Bearer <key>` when the server has keys.',
} as const;

/** Registers the bearer scheme and the two documentation routes. */
export function registerDocRoutes(app: HttpApp): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key of SYMPHAINY_API_KEYS; without keys configured the server serves one local tenant on loopback and needs none.',
  });
  // Generated on first use, once every route module is mounted; routes do not change afterwards.
  let doc: Doc | null = null;
  let page: string | null = null;
  const documentOf = () => (doc ??= app.getOpenAPI31Document({ openapi: '3.1.0', info: { ...OPENAPI_INFO } }));
  app.openapi(docRoutes.openapi, (c) => c.json(documentOf() as unknown as Record<string, unknown>, 200));
  app.openapi(docRoutes.reference, (c) => c.html((page ??= renderReference(documentOf())), 200));
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

const escape = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  operationId?: string;
  security?: unknown[];
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: unknown }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
}

function schemaText(schema: unknown): string {
  return escape(JSON.stringify(schema, null, 2) ?? '');
}

/** Markdown-ish inline code of descriptions (`x`) as HTML. */
const prose = (s: string) => escape(s).replace(/`([^`]+)`/g, '<code>$1</code>');

/** A one-line summary of a (parameter) schema: `integer 0..300000 = 30000`, or a link to a component. */
function schemaSummary(schema: unknown): string {
  if (typeof schema !== 'object' || schema === null) return '';
  const s = schema as Record<string, unknown>;
  if (typeof s.$ref === 'string') {
    const name = s.$ref.replace('#/components/schemas/', '');
    return `<a href="#schema-${escape(name)}"><code>${escape(name)}</code></a>`;
  }
  const type = Array.isArray(s.type) ? s.type.join(' | ') : typeof s.type === 'string' ? s.type : 'any';
  const parts = [type];
  if (Array.isArray(s.enum)) parts.push(s.enum.map((e) => JSON.stringify(e)).join(' | '));
  const lo = s.minimum ?? s.minLength;
  const hi = s.maximum ?? s.maxLength;
  if (lo !== undefined || hi !== undefined) parts.push(`${lo ?? ''}..${hi ?? ''}`);
  if (typeof s.pattern === 'string') parts.push(`/${s.pattern}/`);
  if (s.default !== undefined) parts.push(`= ${JSON.stringify(s.default)}`);
  return `<code>${escape(parts.join(' '))}</code>`;
}

/** The reference page: one section per tag, one block per operation, schemas inline. */
export function renderReference(document: Doc): string {
  const byTag = new Map<string, string[]>();
  const paths = (document.paths ?? {}) as Record<string, Record<string, Operation>>;
  for (const [path, item] of Object.entries(paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = op.tags?.[0] ?? 'other';
      const params = (op.parameters ?? [])
        .map((p) => `<li><code>${escape(p.name)}</code> <small>${escape(p.in)}${p.required ? ', required' : ''}</small> ${schemaSummary(p.schema)} ${prose(p.description ?? '')}</li>`)
        .join('');
      const body = Object.entries(op.requestBody?.content ?? {})
        .map(([type, m]) => `<p>body <code>${escape(type)}</code> ${schemaSummary(m.schema)}</p>`)
        .join('');
      const responses = Object.entries(op.responses ?? {})
        .map(([status, r]) => {
          const types = Object.entries(r.content ?? {})
            .map(([t, m]) => `<code>${escape(t)}</code> ${schemaSummary(m.schema)}`)
            .join(' ');
          return `<li><b>${escape(status)}</b> ${prose(r.description ?? '')} ${types}</li>`;
        })
        .join('');
      const auth = op.security && op.security.length === 0 ? ' <small>(no key)</small>' : '';
      const html = `<section id="${escape(op.operationId ?? `${method}-${path}`)}"><h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code>${auth}</h3>
<p>${prose(op.summary ?? '')}</p>${op.description ? `<p>${prose(op.description)}</p>` : ''}
${params ? `<ul>${params}</ul>` : ''}${body}<ul>${responses}</ul></section>`;
      byTag.set(tag, [...(byTag.get(tag) ?? []), html]);
    }
  }
  const schemas = Object.entries((document.components?.schemas ?? {}) as Record<string, unknown>)
    .map(([name, s]) => `<details id="schema-${escape(name)}"><summary><code>${escape(name)}</code></summary><pre>${schemaText(s)}</pre></details>`)
    .join('\n');
  const toc = [...byTag.keys()].map((t) => `<a href="#tag-${escape(t)}">${escape(t)}</a>`).join(' · ');
  const sections = [...byTag.entries()].map(([t, ops]) => `<h2 id="tag-${escape(t)}">${escape(t)}</h2>\n${ops.join('\n')}`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(document.info.title)} API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{font:13px ui-monospace,monospace}pre{background:#f5f5f5;padding:.5rem;overflow:auto}
section{border-top:1px solid #ddd;padding:.25rem 0}.m{display:inline-block;min-width:3.5rem;font-size:12px;color:#fff;border-radius:3px;text-align:center;padding:0 .3rem}
.get{background:#2a7}.post{background:#27c}.put,.patch{background:#c82}.delete{background:#c33}</style></head>
<body><h1>${escape(document.info.title)} <small>${escape(document.info.version)}</small></h1>
<p>${prose(document.info.description ?? '')}</p><p>The machine-readable document: <a href="/v1/openapi.json">/v1/openapi.json</a>. ${toc}</p>
${sections}
<h2>Schemas</h2>
${schemas}
</body></html>
`;
}
