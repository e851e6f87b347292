// Runs a command with a throwaway PostgreSQL cluster (postgres.ts) and CUSTODIAN_TEST_POSTGRES_URL
// pointing at it, then stops and deletes the cluster: the harness-based suites then run on
// PostgreSQL (test-store.ts). Usage: pnpm exec node test/support/with-postgres.ts <command...>
import { spawn } from 'node:child_process';
import { startPostgres } from './postgres.ts';
import { TEST_POSTGRES_ENV } from './test-store.ts';

const [cmd, ...args] = process.argv.slice(2);
if (!cmd) {
  console.error('usage: with-postgres.ts <command> [args...]');
  process.exit(2);
}
const cluster = await startPostgres();
const code = await new Promise<number>((resolve) => {
  const child = spawn(cmd, args, {
    stdio: 'inherit',
    env: { ...process.env, [TEST_POSTGRES_ENV]: cluster.url('postgres') },
  });
  child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
});
await cluster.stop();
process.exit(code);
