/**
 * @module realms/journey/write/moddle
 * Typed access to `bpmn-moddle` and `bpmnlint` for the BPMN writer. Neither package ships
 * declarations for its entry point, so the writer states here the small part of their API it
 * uses, and loads them without a global `declare module` (which other modules of the journey
 * realm may declare in their own way).
 */
import { createRequire } from 'node:module';

/** A model element of `moddle`: typed properties plus the generic accessors. */
export interface ModdleElement {
  readonly $type: string;
  $parent?: ModdleElement;
  id?: string;
  get(name: string): unknown;
  set(name: string, value: unknown): void;
  [property: string]: unknown;
}

export interface ModdleImport {
  rootElement: ModdleElement;
  warnings: { message: string }[];
  elementsById: Record<string, ModdleElement>;
}

export interface BpmnModdleApi {
  create(type: string, attrs?: Record<string, unknown>): ModdleElement;
  toXML(element: ModdleElement, options?: { format?: boolean }): Promise<{ xml: string }>;
  fromXML(xml: string, typeName?: string): Promise<ModdleImport>;
}

type BpmnModdleFactory = new () => BpmnModdleApi;

// A non-literal specifier keeps the compiler from looking for declarations bpmn-moddle lacks.
const BPMN_MODDLE: string = 'bpmn-moddle';
let factory: Promise<BpmnModdleFactory> | undefined;

/** A fresh `bpmn-moddle` instance (the module is loaded once). */
export async function createModdle(): Promise<BpmnModdleApi> {
  factory ??= import(BPMN_MODDLE).then((m: { BpmnModdle: BpmnModdleFactory }) => m.BpmnModdle);
  const Ctor = await factory;
  return new Ctor();
}

/** One report of a bpmnlint rule. */
export interface LintReport {
  id?: string;
  message: string;
  category?: string;
}

interface BpmnlintLinter {
  lint(root: ModdleElement, config?: unknown): Promise<Record<string, LintReport[]>>;
}

type LinterFactory = new (options: {
  config: unknown;
  resolver: { resolveRule(pkg: string, name: string): unknown; resolveConfig(pkg: string, name: string): unknown };
}) => BpmnlintLinter;

const require = createRequire(import.meta.url);

/**
 * A new bpmnlint linter with its `recommended` configuration. Rules and configurations are
 * loaded from the bpmnlint package itself (`bpmnlint/rules/<name>`, `bpmnlint/config/<name>`);
 * a rule of any other package is refused, so the result never depends on what else is
 * installed. Use one linter per document: a linter caches its rule instances, and some rules
 * (`no-duplicate-sequence-flows`) keep what they saw in them, so a reused linter reports
 * flows of an earlier document as duplicates.
 */
export function recommendedLinter(): BpmnlintLinter {
  const { Linter } = require('bpmnlint') as { Linter: LinterFactory };
  const own = (pkg: string, what: string): void => {
    if (pkg !== 'bpmnlint') throw new Error(`bpmnlint ${what} from package ${pkg} is not available`);
  };
  return new Linter({
    config: { extends: 'bpmnlint:recommended' },
    resolver: {
      resolveRule(pkg, name) {
        own(pkg, `rule ${name}`);
        return require(`bpmnlint/rules/${name}`) as unknown;
      },
      resolveConfig(pkg, name) {
        own(pkg, `config ${name}`);
        return require(`bpmnlint/config/${name}`) as unknown;
      },
    },
  });
}
