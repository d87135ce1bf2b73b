/**
 * @module realms/content/profileText
 * Counts of a plain text: lines, words, characters. The smallest real content capability;
 * it proves the path intent → contract → realm → artifact end to end.
 */
import { assertGranted, type GrantedContract } from '../../machines/contract.js';

export interface TextProfile {
  lines: number;
  blankLines: number;
  words: number;
  /** Unicode code points. */
  characters: number;
  bytes: number;
  longestLine: number;
}

/**
 * Profiles `text`. Lines end at `\n`, `\r\n` or `\r`; a trailing line break does not start
 * a new line; the empty text has 0 lines. Words are maximal runs of non-whitespace.
 */
export function profileText(text: string, contract: GrantedContract): TextProfile {
  assertGranted(contract, { realm: 'content' });
  const lines = text.length === 0 ? [] : text.replace(/(\r\n|\r|\n)$/, '').split(/\r\n|\r|\n/);
  let words = 0;
  for (const _ of text.matchAll(/\S+/gu)) words++;
  let longest = 0;
  let blank = 0;
  for (const line of lines) {
    const len = [...line].length;
    if (len > longest) longest = len;
    if (line.trim() === '') blank++;
  }
  return {
    lines: lines.length,
    blankLines: blank,
    words,
    characters: [...text].length,
    bytes: Buffer.byteLength(text, 'utf8'),
    longestLine: longest,
  };
}
