/**
 * @module realms/content/embeddings
 * Deterministic embeddings (`fh-v1`): column, record and passage vectors.
 */
export {
  FH_V1,
  FH_V1_TABLE,
  DEFAULT_DIMS,
  MAX_SAMPLE_VALUES,
  addFeature,
  addNameFeatures,
  columnVector,
  cosine,
  createFeatureVector,
  embedColumns,
  normalize,
  passageVector,
  recordVector,
  trigrams,
  type ColumnFeaturesInput,
  type EmbedColumnsOptions,
  type EmbeddingSet,
  type FeatureVector,
} from './fhv1.js';
export { murmur3, murmur3Bytes } from './murmur3.js';
export { ABBREVIATIONS_V1, ABBREVIATIONS_VERSION, expandToken } from './abbreviations.js';
export { splitName, wordTokens } from './tokens.js';
