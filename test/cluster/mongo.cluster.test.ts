/**
 * The cluster suite on MongoDB at `MONGO_URL`: a fresh database per test, dropped afterwards.
 * Runs whenever `MONGO_URL` is set (CI: FerretDB v1 on PostgreSQL from `.ci/services.sh`,
 * where the whole file takes about a minute); skipped without it, or failing when
 * `SYMPHAINY_REQUIRE_SERVICES=1`. `SYMPHAINY_MONGO_CLUSTER=0` skips it on a machine too slow
 * for its timing bounds.
 */
import { describe, it } from 'vitest';
import { describeWithService } from '../services/env.js';
import { describeCluster } from './cluster.suite.js';
import { freshMongo } from './nodes.js';

if (process.env.SYMPHAINY_MONGO_CLUSTER === '0') {
  describe.skip('runtime processes on one mongo store (SYMPHAINY_MONGO_CLUSTER=0)', () => {
    it('runs against MongoDB', () => undefined);
  });
} else {
  describeWithService('MONGO_URL', 'MongoDB cluster', (url) => describeCluster('mongo', () => freshMongo(url)));
}
