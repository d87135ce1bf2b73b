/**
 * Types for `bpmn-moddle` 10: its package `exports` ship no declaration for the entry point
 * (only `bpmn-moddle/types` for elements), so the part the journey realm uses is declared
 * here. Elements are read structurally through `ModdleElementLike` in `realms/journey/moddle.ts`.
 */
declare module 'bpmn-moddle' {
  /** A problem the reader could work around (lax mode): the model is still built. */
  export interface BpmnModdleWarning {
    message: string;
    error?: Error;
    /** For an unresolved reference: the element holding it, the property and the missing id. */
    element?: { $type: string; id?: string };
    property?: string;
    value?: string;
  }

  export interface BpmnModdleParseResult {
    rootElement: { $type: string; id?: string; [key: string]: unknown };
    elementsById: Record<string, { $type: string; id?: string; [key: string]: unknown }>;
    references: unknown[];
    warnings: BpmnModdleWarning[];
  }

  /** Thrown by `fromXML`: an `Error` that also carries the warnings collected before it. */
  export interface BpmnModdleParseError extends Error {
    warnings?: BpmnModdleWarning[];
  }

  export interface BpmnModdleInstance {
    fromXML(xml: string, typeName?: string, options?: Record<string, unknown>): Promise<BpmnModdleParseResult>;
    toXML(element: object, options?: { format?: boolean; preamble?: boolean }): Promise<{ xml: string }>;
    create(type: string, attrs?: Record<string, unknown>): { $type: string; [key: string]: unknown };
    getType(type: string): unknown;
  }

  /** Not a class in the package: a factory callable with or without `new`. */
  export const BpmnModdle: {
    new (packages?: Record<string, unknown>, options?: Record<string, unknown>): BpmnModdleInstance;
    (packages?: Record<string, unknown>, options?: Record<string, unknown>): BpmnModdleInstance;
  };
}
