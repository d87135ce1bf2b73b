/**
 * PII masking (DOMAIN.md section 4): `pii:<kind>:<16 hex of HMAC-SHA256(tenant key, value)>`,
 * birth dates keep the year.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RecordRow } from '../../../src/persistence/ports.js';
import { createMasker, createProfiler, flaggedColumns, maskProfile, type FlaggedColumn } from '../../../src/realms/content/profile/index.js';

const KEY_A = Buffer.from('tenant-a-secret-0123456789abcdef');
const KEY_B = Buffer.from('tenant-b-secret-0123456789abcdef');
const NAME: FlaggedColumn = { index: 1, name: 'LAST_NM', kind: 'name' };
const DOB: FlaggedColumn = { index: 2, name: 'BIRTH_DT', kind: 'dateOfBirth', dateFormat: 'YYYYMMDD' };

describe('masking', () => {
  it('masks with the HMAC of the trimmed value: equal values stay equal', () => {
    const m = createMasker(KEY_A, [NAME]);
    const want = `pii:name:${createHmac('sha256', KEY_A).update('SMITH').digest('hex').slice(0, 16)}`;
    expect(m.maskValue(NAME, 'SMITH')).toBe(want);
    expect(m.maskValue(NAME, ' SMITH ')).toBe(want);
    expect(m.maskValue(NAME, 'SMYTH')).not.toBe(want);
    expect(m.maskValue(NAME, null)).toBeNull();
    expect(m.maskValue(NAME, 'SMITH')).toMatch(/^pii:name:[0-9a-f]{16}$/);
  });

  it('gives another tenant key another mask', () => {
    expect(createMasker(KEY_A, [NAME]).maskValue(NAME, 'SMITH')).not.toBe(createMasker(KEY_B, [NAME]).maskValue(NAME, 'SMITH'));
  });

  it('keeps only the year of a birth date', () => {
    const m = createMasker(KEY_A, [DOB]);
    expect(m.maskValue(DOB, '19620714')).toBe('1962-01-01');
    expect(m.maskValue({ ...DOB, dateFormat: 'MM/DD/YYYY' }, '07/14/1962')).toBe('1962-01-01');
    expect(m.maskValue(DOB, 'unknown')).toMatch(/^pii:dateOfBirth:[0-9a-f]{16}$/);
  });

  it('masks flagged columns of record batches without touching the input', () => {
    const m = createMasker(KEY_A, [NAME, DOB]);
    const rows: RecordRow[] = [
      { row: 1, line: 2, values: ['P1', 'SMITH', '19620714', 'ACTIVE'] },
      { row: 2, line: 3, values: ['P2', 'SMITH', '', 'LAPSED'] },
    ];
    const out = m.maskRows(rows);
    expect(rows[0]!.values[1]).toBe('SMITH');
    expect(out[0]).toEqual({ row: 1, line: 2, values: ['P1', m.maskValue(NAME, 'SMITH'), '1962-01-01', 'ACTIVE'] });
    expect(out[1]!.values[1]).toBe(out[0]!.values[1]);
    expect(out[1]!.values[2]).toBe('');
  });

  it('masks a profile: flagged columns marked, top values and min/max masked, shapes kept', async () => {
    const profiler = createProfiler(['POL_NO', 'LAST_NM', 'BIRTH_DT'], { keyCheck: false });
    const names = ['SMITH', 'JONES', 'SMITH', 'BROWN'];
    profiler.add(Array.from({ length: 40 }, (_, i) => ({ row: i + 1, values: [`P${i}`, names[i % 4]!, `19${50 + (i % 40)}0${1 + (i % 9)}15`] })));
    const { profile } = await profiler.finish();
    const flagged = flaggedColumns(profile);
    expect(flagged.map((f) => [f.index, f.kind])).toEqual([[1, 'name'], [2, 'dateOfBirth']]);
    const m = createMasker(KEY_A, flagged);
    const masked = maskProfile(profile, m);
    const last = masked.columns[1]!;
    expect(last.pii?.masked).toBe(true);
    expect(last.topValues[0]).toEqual({ value: m.maskValue(NAME, 'SMITH'), count: 20 });
    expect(String(last.min)).toMatch(/^pii:name:/);
    expect(last.patterns).toEqual(profile.columns[1]!.patterns);
    expect(masked.columns[2]!.min).toBe('1950-01-01');
    expect(masked.columns[0]).toEqual(profile.columns[0]);
    expect(profile.columns[1]!.pii?.masked).toBe(false);
  });
});
