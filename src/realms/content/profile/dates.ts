/**
 * @module realms/content/profile/dates
 * Date and datetime formats the profiler recognises, each a small parser over a trimmed
 * string range that reads character codes at fixed positions (no regex, no allocation).
 *
 * A parser returns a sortable key (`yyyymmdd`, or `yyyymmddhhmmss` for datetimes), `-1` when
 * the value is not in the format, or `-2` for a legacy sentinel in the format's shape (year
 * 0000, 0001 or 9999, e.g. `9999-12-31` as "open-ended"). Accepted years: 1800–2199.
 * Two-digit years pivot at 30: `00`–`29` → 20yy, `30`–`99` → 19yy.
 */

export const NO_MATCH = -1;
export const SENTINEL = -2;

export interface DateFormat {
  /** The label reported as `dateFormat`. */
  readonly id: string;
  readonly datetime: boolean;
  readonly parse: (v: string, s: number, e: number) => number;
}

const DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function dateKey(y: number, m: number, d: number): number {
  if (y === 0 || y === 1 || y === 9999) return m <= 12 && d <= 31 ? SENTINEL : NO_MATCH;
  if (y < 1800 || y > 2199 || m < 1 || m > 12 || d < 1 || d > DAYS[m]!) return NO_MATCH;
  if (m === 2 && d === 29 && !(y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0))) return NO_MATCH;
  return y * 10000 + m * 100 + d;
}

/** Two ASCII digits at i, or -1. */
function d2(v: string, i: number): number {
  const a = v.charCodeAt(i) - 48;
  const b = v.charCodeAt(i + 1) - 48;
  if (a < 0 || a > 9 || b < 0 || b > 9) return -1;
  return a * 10 + b;
}

function d4(v: string, i: number): number {
  const a = d2(v, i);
  const b = d2(v, i + 2);
  return a < 0 || b < 0 ? -1 : a * 100 + b;
}

function pivot(yy: number): number {
  return yy < 30 ? 2000 + yy : 1900 + yy;
}

/** `Y<sep>M<sep>D` with a 4-digit year first and 2-digit month and day. */
function ymdSep(sep: number) {
  return (v: string, s: number, e: number): number => {
    if (e - s !== 10 || v.charCodeAt(s + 4) !== sep || v.charCodeAt(s + 7) !== sep) return NO_MATCH;
    const y = d4(v, s);
    const m = d2(v, s + 5);
    const d = d2(v, s + 8);
    return y < 0 || m < 0 || d < 0 ? NO_MATCH : dateKey(y, m, d);
  };
}

const parts = new Int32Array(3);

/** Three digit groups separated by `sep`, group widths 1–2, 1–2, then `yearDigits`. */
function split3(v: string, s: number, e: number, sep: number, yearDigits: number): boolean {
  let p = 0;
  let cur = 0;
  let width = 0;
  for (let i = s; i < e; i++) {
    const c = v.charCodeAt(i);
    if (c === sep) {
      if (p >= 2 || width < 1 || width > 2) return false;
      parts[p++] = cur;
      cur = 0;
      width = 0;
    } else {
      const dg = c - 48;
      if (dg < 0 || dg > 9) return false;
      cur = cur * 10 + dg;
      width++;
    }
  }
  if (p !== 2 || width !== yearDigits) return false;
  parts[2] = cur;
  return true;
}

function mdy(sep: number, yearDigits: number, dayFirst: boolean) {
  return (v: string, s: number, e: number): number => {
    if (!split3(v, s, e, sep, yearDigits)) return NO_MATCH;
    const y = yearDigits === 2 ? pivot(parts[2]!) : parts[2]!;
    return dayFirst ? dateKey(y, parts[1]!, parts[0]!) : dateKey(y, parts[0]!, parts[1]!);
  };
}

function compact(order: 'ymd' | 'mdy' | 'dmy') {
  return (v: string, s: number, e: number): number => {
    if (e - s !== 8) return NO_MATCH;
    const a = d4(v, s);
    const b = d4(v, s + 4);
    if (a < 0 || b < 0) return NO_MATCH;
    if (order === 'ymd') return dateKey(a, (b / 100) | 0, b % 100);
    if (order === 'mdy') return dateKey(b, (a / 100) | 0, a % 100);
    return dateKey(b, a % 100, (a / 100) | 0);
  };
}

/** Month number of three letters at i (any case), or -1. */
export function monthOf(v: string, i: number): number {
  const a = v.charCodeAt(i) & 0xdf;
  const b = v.charCodeAt(i + 1) & 0xdf;
  const c = v.charCodeAt(i + 2) & 0xdf;
  switch (a) {
    case 65: // A
      if (b === 80 && c === 82) return 4; // APR
      if (b === 85 && c === 71) return 8; // AUG
      return -1;
    case 68: return b === 69 && c === 67 ? 12 : -1; // DEC
    case 70: return b === 69 && c === 66 ? 2 : -1; // FEB
    case 74:
      if (b === 65 && c === 78) return 1; // JAN
      if (b === 85 && c === 78) return 6; // JUN
      if (b === 85 && c === 76) return 7; // JUL
      return -1;
    case 77:
      if (b === 65 && c === 82) return 3; // MAR
      if (b === 65 && c === 89) return 5; // MAY
      return -1;
    case 78: return b === 79 && c === 86 ? 11 : -1; // NOV
    case 79: return b === 67 && c === 84 ? 10 : -1; // OCT
    case 83: return b === 69 && c === 80 ? 9 : -1; // SEP
    default: return -1;
  }
}

/** `DD-MON-YY` / `DD-MON-YYYY` (Oracle's default), day may be one digit. */
function dMonY(yearDigits: number) {
  return (v: string, s: number, e: number): number => {
    let i = s;
    let day = v.charCodeAt(i) - 48;
    if (day < 0 || day > 9) return NO_MATCH;
    const second = v.charCodeAt(i + 1) - 48;
    if (second >= 0 && second <= 9) {
      day = day * 10 + second;
      i++;
    }
    i++;
    if (v.charCodeAt(i) !== 45 || v.charCodeAt(i + 4) !== 45 || e - (i + 5) !== yearDigits) return NO_MATCH;
    const m = monthOf(v, i + 1);
    if (m < 0) return NO_MATCH;
    const y = yearDigits === 2 ? d2(v, i + 5) : d4(v, i + 5);
    if (y < 0) return NO_MATCH;
    return dateKey(yearDigits === 2 ? pivot(y) : y, m, day);
  };
}

const ymdDash = ymdSep(45);

/**
 * ISO 8601 date-time: `YYYY-MM-DD`, then `T` (or one space when `spaceSep`), `HH:MM`,
 * optional `:SS`, optional fraction, optional `Z` or `±HH:MM`.
 */
function isoDateTime(spaceSep: boolean) {
  return (v: string, s: number, e: number): number => {
    if (e - s < 16) return NO_MATCH;
    const t = v.charCodeAt(s + 10);
    if (spaceSep ? t !== 32 : t !== 84 && t !== 116) return NO_MATCH;
    const day = ymdDash(v, s, s + 10);
    if (day < 0) return day;
    const hh = d2(v, s + 11);
    const mi = d2(v, s + 14);
    if (hh < 0 || hh > 23 || v.charCodeAt(s + 13) !== 58 || mi < 0 || mi > 59) return NO_MATCH;
    let i = s + 16;
    let ss = 0;
    if (i < e && v.charCodeAt(i) === 58) {
      ss = d2(v, i + 1);
      if (ss < 0 || ss > 60) return NO_MATCH;
      i += 3;
      if (i < e && v.charCodeAt(i) === 46) {
        i++;
        const f0 = i;
        while (i < e && v.charCodeAt(i) >= 48 && v.charCodeAt(i) <= 57) i++;
        if (i === f0) return NO_MATCH;
      }
    }
    if (i < e) {
      const z = v.charCodeAt(i);
      if (z === 90 || z === 122) i++;
      else if (z === 43 || z === 45) {
        if (e - i !== 6 || d2(v, i + 1) < 0 || v.charCodeAt(i + 3) !== 58 || d2(v, i + 4) < 0) return NO_MATCH;
        i = e;
      }
    }
    if (i !== e) return NO_MATCH;
    return day * 1000000 + hh * 10000 + mi * 100 + ss;
  };
}

/**
 * Every recognised format, in preference order: when two formats match the same share of a
 * column (e.g. `MM/DD/YYYY` and `DD/MM/YYYY` when every day is ≤ 12), the earlier one wins.
 */
export const DATE_FORMATS: readonly DateFormat[] = [
  { id: 'YYYY-MM-DD', datetime: false, parse: ymdDash },
  { id: 'YYYYMMDD', datetime: false, parse: compact('ymd') },
  { id: 'MM/DD/YYYY', datetime: false, parse: mdy(47, 4, false) },
  { id: 'DD/MM/YYYY', datetime: false, parse: mdy(47, 4, true) },
  { id: 'YYYY/MM/DD', datetime: false, parse: ymdSep(47) },
  { id: 'MM-DD-YYYY', datetime: false, parse: mdy(45, 4, false) },
  { id: 'DD-MM-YYYY', datetime: false, parse: mdy(45, 4, true) },
  { id: 'DD.MM.YYYY', datetime: false, parse: mdy(46, 4, true) },
  { id: 'MM/DD/YY', datetime: false, parse: mdy(47, 2, false) },
  { id: 'DD-MON-YY', datetime: false, parse: dMonY(2) },
  { id: 'DD-MON-YYYY', datetime: false, parse: dMonY(4) },
  { id: 'MMDDYYYY', datetime: false, parse: compact('mdy') },
  { id: 'DDMMYYYY', datetime: false, parse: compact('dmy') },
  { id: 'YYYY-MM-DDTHH:MM:SS', datetime: true, parse: isoDateTime(false) },
  { id: 'YYYY-MM-DD HH:MM:SS', datetime: true, parse: isoDateTime(true) },
];

/** Bit mask with every format alive. */
export const ALL_FORMATS = (1 << DATE_FORMATS.length) - 1;

export function formatById(id: string): DateFormat | undefined {
  return DATE_FORMATS.find((f) => f.id === id);
}

/** `yyyymmdd` → `YYYY-MM-DD`; `yyyymmddhhmmss` → `YYYY-MM-DDTHH:MM:SS`. */
export function keyToIso(key: number): string {
  const p2 = (n: number): string => (n < 10 ? `0${n}` : String(n));
  if (key >= 1e10) {
    const day = Math.floor(key / 1000000);
    const t = key - day * 1000000;
    return `${keyToIso(day)}T${p2(Math.floor(t / 10000))}:${p2(Math.floor(t / 100) % 100)}:${p2(t % 100)}`;
  }
  const y = Math.floor(key / 10000);
  return `${String(y).padStart(4, '0')}-${p2(Math.floor(key / 100) % 100)}-${p2(key % 100)}`;
}

/** Parses a whole string in `format`; the key, or a negative code. */
export function parseDate(format: DateFormat, v: string): number {
  let s = 0;
  let e = v.length;
  while (s < e && v.charCodeAt(s) <= 32) s++;
  while (e > s && v.charCodeAt(e - 1) <= 32) e--;
  return format.parse(v, s, e);
}
