/**
 * @module realms/content/profile/pii
 * PII detection: a column is flagged from two kinds of evidence, its header (tokens of the
 * column name, e.g. `EMAIL_ADDR`, `DOB`, `OWNER_NM`) and the share of its non-null values
 * whose shape matches the kind (counted in the profiler's single scan). Header cues lower the
 * share needed; value evidence alone is enough only for shapes specific to one kind.
 *
 * | kind | with a header cue | without |
 * | --- | --- | --- |
 * | email | ≥ 50% email-shaped | ≥ 90% |
 * | nationalId | ≥ 80% SSN-shaped (`\d{3}-?\d{2}-?\d{4}`) | ≥ 90% dashed `999-99-9999` |
 * | phone | ≥ 80% phone-shaped (10–15 digits with `-`, `.`, space, `()`, `+`) | ≥ 90% formatted phones |
 * | dateOfBirth | column inferred a date | never (any date could be one) |
 * | address | ≥ 80% of values with letters | ≥ 90% street-shaped (`123 Main St`) |
 * | name | ≥ 80% name-shaped (letters, spaces, `.,'-`, no digits) | never (codes look like names) |
 */
import { splitName } from '../embeddings/tokens.js';
import type { InferredType, PiiFlag, PiiKind } from './types.js';

/** How many of a column's values have each PII-like shape (counted by the column scan). */
export interface PiiCounts {
  emailLike: number;
  ssnLike: number;
  ssnDashed: number;
  phoneLike: number;
  phoneFormatted: number;
  nameLike: number;
  addressLike: number;
  withLetters: number;
}

/** Value-shape counts gathered by the column scan, with the column they describe. */
export interface PiiEvidence extends PiiCounts {
  name: string;
  nonNull: number;
  inferredType: InferredType;
}

const CUES: Record<PiiKind, readonly string[]> = {
  email: ['email', 'mail', 'emailaddr', 'emailaddress'],
  nationalId: ['ssn', 'tin', 'sin', 'nin', 'ssno', 'socsec', 'nationalid', 'taxid'],
  phone: ['phone', 'tel', 'telephone', 'mobile', 'cell', 'fax', 'phoneno'],
  dateOfBirth: ['dob', 'birth', 'bdate', 'birthdate', 'birthdt', 'born'],
  address: ['addr', 'address', 'street', 'addr1', 'addr2', 'addrline', 'streetaddress'],
  name: ['name', 'nm', 'fname', 'lname', 'mname', 'surname', 'firstname', 'lastname', 'givenname', 'fullname', 'nme'],
};

/** Two-token cues: `TAX_ID`, `SOC_SEC`, `NATIONAL_ID`, `E_MAIL`. */
const PAIR_CUES: readonly (readonly [string, string, PiiKind])[] = [
  ['tax', 'id', 'nationalId'],
  ['soc', 'sec', 'nationalId'],
  ['social', 'security', 'nationalId'],
  ['national', 'id', 'nationalId'],
  ['e', 'mail', 'email'],
];

/** Name tokens that make a `…_NAME` column not a person's name. */
const NOT_PERSON = new Set(['prod', 'product', 'plan', 'file', 'fund', 'table', 'field', 'column', 'col', 'sheet', 'user', 'system', 'sys', 'bank', 'rider', 'benefit', 'cov', 'coverage', 'status', 'state', 'city', 'country', 'company', 'carrier', 'form', 'report', 'branch', 'dept', 'host', 'server', 'type']);

/** The kinds whose header cue appears in `columnName`, with the token that matched. */
export function headerCues(columnName: string): Map<PiiKind, string> {
  const tokens = splitName(columnName);
  const found = new Map<PiiKind, string>();
  const joined = tokens.join('');
  for (const kind of Object.keys(CUES) as PiiKind[]) {
    const hit = tokens.find((t) => CUES[kind].includes(t)) ?? (CUES[kind].includes(joined) ? joined : undefined);
    if (hit !== undefined) found.set(kind, hit);
  }
  for (let i = 0; i + 1 < tokens.length; i++) {
    for (const [a, b, kind] of PAIR_CUES) {
      if (tokens[i] === a && tokens[i + 1] === b && !found.has(kind)) found.set(kind, `${a}_${b}`);
    }
  }
  if (found.has('name') && tokens.some((t) => NOT_PERSON.has(t))) found.delete('name');
  // "NAME" next to an address cue is an address line ("ADDR_NAME" is rare; "STREET_NAME" is not a person).
  if (found.has('name') && found.has('address')) found.delete('name');
  // "EMAIL_ADDR" is an email address, not a postal one.
  if (found.has('email') && found.has('address')) found.delete('address');
  return found;
}

function pct(share: number): string {
  return `${(Math.round(share * 1000) / 10).toFixed(1)}%`;
}

/** Decides the PII flag of one column; `null` when no rule of the table above fires. */
export function detectPii(ev: PiiEvidence): PiiFlag | null {
  const n = ev.nonNull;
  if (n === 0) return null;
  const cues = headerCues(ev.name);
  const share = (x: number): number => x / n;
  const reason = (kind: PiiKind, matched: number, what: string): PiiFlag => {
    const cue = cues.get(kind);
    const head = cue === undefined ? 'no header cue' : `header cue '${cue}' in '${ev.name}'`;
    return { kind, masked: false, reason: `${head}; ${pct(share(matched))} of ${n} non-null values ${what}` };
  };
  if ((cues.has('email') && share(ev.emailLike) >= 0.5) || share(ev.emailLike) >= 0.9) {
    return reason('email', ev.emailLike, 'are email-shaped');
  }
  if ((cues.has('nationalId') && share(ev.ssnLike) >= 0.8) || share(ev.ssnDashed) >= 0.9) {
    return cues.has('nationalId')
      ? reason('nationalId', ev.ssnLike, 'match \\d{3}-?\\d{2}-?\\d{4}')
      : reason('nationalId', ev.ssnDashed, 'match 999-99-9999');
  }
  if ((cues.has('phone') && share(ev.phoneLike) >= 0.8) || share(ev.phoneFormatted) >= 0.9) {
    return cues.has('phone') ? reason('phone', ev.phoneLike, 'are phone-shaped') : reason('phone', ev.phoneFormatted, 'are formatted phone numbers');
  }
  if (cues.has('dateOfBirth') && (ev.inferredType === 'date' || ev.inferredType === 'datetime')) {
    return reason('dateOfBirth', n, 'parse as dates');
  }
  if ((cues.has('address') && share(ev.withLetters) >= 0.8) || share(ev.addressLike) >= 0.9) {
    return reason('address', ev.addressLike, 'are street-shaped');
  }
  if (cues.has('name') && share(ev.nameLike) >= 0.8) {
    return reason('name', ev.nameLike, 'are name-shaped');
  }
  return null;
}
