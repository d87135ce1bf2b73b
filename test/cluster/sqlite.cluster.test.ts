/**
 * The cluster suite on the embedded store: several processes on one SQLite file (WAL,
 * `busy_timeout`, `BEGIN IMMEDIATE`), a fresh data directory per test.
 */
import { describeCluster } from './cluster.suite.js';
import { freshSqlite } from './nodes.js';

describeCluster('sqlite', freshSqlite);
