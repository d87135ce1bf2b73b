/**
 * @module realms/content/profile/mask
 * PII masking (DOMAIN.md section 4, `piiHandling: 'mask'`): before anything is stored, values
 * of flagged columns become `pii:<kind>:<16 hex of HMAC-SHA256(tenant key, value)>`, so equal
 * values stay equal (joins survive) and nothing of the value is readable. Birth dates keep
 * the year only: `YYYY-01-01`.
 *
 * The HMAC input is the value as text, trimmed (as the profiler compares values): `' SMITH'`
 * and `'SMITH'` mask alike. A number or boolean is taken as `String(value)`. A birth date that
 * does not parse in the column's date format (or, lacking one, in any known format) gets the
 * HMAC form. Nulls stay null.
 */
import { createHmac } from 'node:crypto';
import type { RecordRow } from '../../../persistence/ports.js';
import { DATE_FORMATS, formatById, type DateFormat } from './dates.js';
import type { Cell, ColumnProfile, DatasetProfile, PiiKind } from './types.js';

/** A column to mask: its position in `RecordRow.values`, name and PII kind. */
export interface FlaggedColumn {
  index: number;
  name: string;
  kind: PiiKind;
  /** The column's `dateFormat` (for `dateOfBirth`). */
  dateFormat?: string;
}

export interface Masker {
  readonly columns: readonly FlaggedColumn[];
  /** The masked form of one value of a flagged column. */
  maskValue(column: FlaggedColumn, value: Cell): Cell;
  /** New rows with flagged columns masked; the input rows are not modified. */
  maskRows(rows: readonly RecordRow[]): RecordRow[];
}

/** Masked values kept per masker to skip recomputing the HMAC of repeated values. */
const CACHE_LIMIT = 65536;

/** `pii:<kind>:<first 16 hex digits of HMAC-SHA256(key, text)>`. */
export function maskToken(tenantKey: Buffer, kind: PiiKind, text: string): string {
  return `pii:${kind}:${createHmac('sha256', tenantKey).update(text, 'utf8').digest('hex').slice(0, 16)}`;
}

function yearOf(text: string, format: DateFormat | undefined): number | null {
  const formats = format ? [format] : DATE_FORMATS;
  for (const f of formats) {
    const key = f.parse(text, 0, text.length);
    if (key >= 0) return Math.floor((key >= 1e10 ? Math.floor(key / 1000000) : key) / 10000);
  }
  return null;
}

/** The flagged columns of a profile, with their indices in the profile's column order. */
export function flaggedColumns(profile: Pick<DatasetProfile, 'columns'>): FlaggedColumn[] {
  const out: FlaggedColumn[] = [];
  profile.columns.forEach((c: ColumnProfile, index) => {
    if (c.pii) out.push({ index, name: c.name, kind: c.pii.kind, ...(c.dateFormat ? { dateFormat: c.dateFormat } : {}) });
  });
  return out;
}

/**
 * Creates a masker for `flagged` columns keyed by the tenant's secret.
 *
 * @example
 * const masker = createMasker(tenantKey, flaggedColumns(profile));
 * await records.putChunk(tenantId, datasetId, chunkNo, masker.maskRows(rows));
 */
export function createMasker(tenantKey: Buffer, flagged: readonly FlaggedColumn[]): Masker {
  if (tenantKey.length === 0) throw new RangeError('tenant key must not be empty');
  const key = Buffer.from(tenantKey);
  const cache = new Map<string, string>();

  function maskValue(column: FlaggedColumn, value: Cell): Cell {
    if (value === null || value === undefined) return null;
    const text = (typeof value === 'string' ? value : String(value)).trim();
    if (text === '') return value;
    if (column.kind === 'dateOfBirth') {
      const year = yearOf(text, column.dateFormat ? formatById(column.dateFormat) : undefined);
      if (year !== null) return `${String(year).padStart(4, '0')}-01-01`;
    }
    const cacheKey = `${column.kind}\u0000${text}`;
    const hit = cache.get(cacheKey);
    if (hit !== undefined) return hit;
    const token = maskToken(key, column.kind, text);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(cacheKey, token);
    return token;
  }

  function maskRows(rows: readonly RecordRow[]): RecordRow[] {
    if (flagged.length === 0) return rows.slice();
    return rows.map((r) => {
      const values = r.values.slice();
      for (const c of flagged) if (c.index < values.length) values[c.index] = maskValue(c, values[c.index] ?? null);
      return { ...r, values };
    });
  }

  return { columns: flagged, maskValue, maskRows };
}

/**
 * The profile as stored under `mask`: flagged columns get `pii.masked = true` and their top
 * values and min/max masked (shape statistics — patterns, lengths, null rate, distinct
 * estimate — describe raw values, as DOMAIN.md section 4 says).
 */
export function maskProfile(profile: DatasetProfile, masker: Masker): DatasetProfile {
  const byIndex = new Map(masker.columns.map((c) => [c.index, c]));
  return {
    ...profile,
    columns: profile.columns.map((c, i) => {
      const flag = byIndex.get(i);
      if (!flag || !c.pii) return c;
      const out: ColumnProfile = {
        ...c,
        pii: { ...c.pii, masked: true },
        topValues: c.topValues.map((t) => ({ value: masker.maskValue(flag, t.value), count: t.count })),
      };
      // Profile min/max of dates are ISO, whatever the source format.
      const { dateFormat: _source, ...iso } = flag;
      if (c.min !== undefined) out.min = masker.maskValue(iso, c.min);
      if (c.max !== undefined) out.max = masker.maskValue(iso, c.max);
      return out;
    }),
  };
}
