/**
 * @module realms/content/profile/hash
 * The profiler's value hash: two independent 32-bit words per string, computed in the same
 * character loop that classifies the value (FNV-1a for `h1`, a MurmurHash2-style multiply and
 * shift for `h2`, each finished with MurmurHash3's `fmix32` avalanche).
 *
 * Used for HyperLogLog (46 bits), the heavy-hitters and shape tables, and the candidate-key
 * spool (all 64 bits). It is an in-process statistic hash, never persisted as an identifier;
 * the deterministic embedding hash (MurmurHash3 on UTF-8 bytes) lives in `embeddings/`.
 */

export const H1_SEED = 0x811c9dc5 | 0;
export const H2_SEED = 0x9747b28c | 0;
export const FNV_PRIME = 0x01000193;
export const M2_PRIME = 0x5bd1e995 | 0;

/** MurmurHash3's 32-bit finaliser. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** Scratch output of {@link hashString}: [h1, h2]. */
export const hashOut = new Int32Array(2);

/** Hashes `s[start, end)` into {@link hashOut}, exactly as the profiler's column scan does. */
export function hashString(s: string, start = 0, end = s.length): void {
  let h1 = H1_SEED;
  let h2 = H2_SEED;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, FNV_PRIME);
    h2 = Math.imul(h2 ^ c, M2_PRIME);
    h2 ^= h2 >>> 15;
  }
  const len = end - start;
  hashOut[0] = fmix32(h1 ^ len);
  hashOut[1] = fmix32(h2 ^ Math.imul(len, 0x27d4eb2f));
}

/** Combines two hashed values into one pair hash (used for two-column key candidates). */
export function mixPair(a: number, b: number): number {
  return fmix32(Math.imul(a, 0x9e3779b1) ^ ((b << 13) | (b >>> 19)) ^ 0x2545f491);
}
