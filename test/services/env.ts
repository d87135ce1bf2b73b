/**
 * Test services from the environment (DESIGN.md section 9): a suite that needs MongoDB or
 * Redis runs when its URL is set, skips otherwise, and fails instead of skipping when CI sets
 * SYMPHAINY_REQUIRE_SERVICES=1.
 */
export type ServiceName = 'MONGO_URL' | 'REDIS_URL';

export function requireServices(): boolean {
  return process.env.SYMPHAINY_REQUIRE_SERVICES === '1';
}

export function serviceUrl(name: ServiceName): string | undefined {
  const url = process.env[name];
  return url && url.length > 0 ? url : undefined;
}
