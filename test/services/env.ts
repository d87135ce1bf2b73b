/**
 * @module test/services/env
 * Which test services a run has (DESIGN.md section 9). A suite that needs one reads its URL
 * here; with none it skips, unless `SYMPHAINY_REQUIRE_SERVICES=1` (set by `.ci/run`), in
 * which case it fails instead.
 */
import { describe, it } from 'vitest';

export type ServiceName = 'MONGO_URL' | 'REDIS_URL';

/** The service's URL from the environment; `undefined` when unset or empty. */
export function serviceUrl(name: ServiceName): string | undefined {
  const url = process.env[name]?.trim();
  return url ? url : undefined;
}

/** True when a missing service must fail the run rather than skip its suites. */
export function requireServices(): boolean {
  return process.env.SYMPHAINY_REQUIRE_SERVICES === '1';
}

/**
 * Registers `body` as the suite `title` when the service is there. Without it the suite is
 * skipped, or, with `SYMPHAINY_REQUIRE_SERVICES=1`, replaced by one test that fails saying
 * which variable is missing.
 *
 * @example
 * describeWithService('MONGO_URL', 'blob streaming on mongo', (url) => {
 *   it('streams 200 MB', async () => { ... });
 * });
 */
export function describeWithService(name: ServiceName, title: string, body: (url: string) => void): void {
  const url = serviceUrl(name);
  if (url) {
    describe(title, () => body(url));
  } else if (requireServices()) {
    describe(title, () => {
      it(`needs ${name}`, () => {
        throw new Error(`${name} is required (SYMPHAINY_REQUIRE_SERVICES=1)`);
      });
    });
  } else {
    describe.skip(`${title} (${name} unset)`, () => {
      it(`needs ${name}`, () => undefined);
    });
  }
}
