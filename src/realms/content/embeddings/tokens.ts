/**
 * @module realms/content/embeddings/tokens
 * Column-name and text tokenisation shared by profiling (PII header cues) and `fh-v1`.
 */

/**
 * Splits a column name on separators (anything not a letter or digit), on case changes
 * (`policyNumber` → policy, number; `HTTPServer` → http, server) and on letter/digit
 * boundaries (`ADDR1` → addr, 1). Tokens are lower-case, in order.
 *
 * @example splitName('POL_NO') // ['pol', 'no']
 */
export function splitName(name: string): string[] {
  const out: string[] = [];
  for (const part of name.normalize('NFC').split(/[^\p{L}\p{N}]+/u)) {
    if (part === '') continue;
    let start = 0;
    const chars = [...part];
    const cls = chars.map(charClass);
    for (let i = 1; i < chars.length; i++) {
      const prev = cls[i - 1];
      const cur = cls[i];
      const next = cls[i + 1];
      const boundary =
        (prev === 'lower' && cur === 'upper') ||
        (prev === 'upper' && cur === 'upper' && next === 'lower') ||
        (prev === 'digit') !== (cur === 'digit');
      if (boundary) {
        out.push(chars.slice(start, i).join('').toLowerCase());
        start = i;
      }
    }
    out.push(chars.slice(start).join('').toLowerCase());
  }
  return out;
}

function charClass(ch: string): 'upper' | 'lower' | 'digit' | 'other' {
  if (/\p{N}/u.test(ch)) return 'digit';
  if (/\p{Lu}/u.test(ch)) return 'upper';
  if (/\p{Ll}/u.test(ch)) return 'lower';
  return 'other';
}

/** Lower-case word tokens of free text: maximal runs of letters and digits. */
export function wordTokens(text: string): string[] {
  const out: string[] = [];
  for (const m of text.normalize('NFC').toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)) out.push(m[0]);
  return out;
}
