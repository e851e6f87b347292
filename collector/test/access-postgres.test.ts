// The access matrix (every route × every caller) and the tenancy matrix (every route × every
// school-A role, with school B's data) again, on PostgreSQL: the same two suites, their stores
// opened by test-store.ts on a throwaway cluster started here (issue 20: "the access matrix passes
// on every store"). access.test.ts and tenancy-access.test.ts run on level as themselves.
import { afterAll } from 'vitest';
import { startPostgres } from '../../test/support/postgres.ts';
import { TEST_POSTGRES_ENV } from '../../test/support/test-store.ts';

const cluster = await startPostgres();
process.env[TEST_POSTGRES_ENV] = cluster.url('postgres');
afterAll(async () => {
  await cluster.stop();
});

await import('./access.test.ts');
await import('./tenancy-access.test.ts');
