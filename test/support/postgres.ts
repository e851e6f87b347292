// A throwaway PostgreSQL cluster for tests: initdb + pg_ctl from the Debian `postgresql` package
// (/usr/lib/postgresql/<version>/bin), run as a non-root test user (the server refuses root), in a
// temp dir, listening on a free loopback port with password (SCRAM) authentication, its unix
// socket inside the temp dir. `stop()` stops it (immediate) and deletes everything. Each test
// file starts its own cluster and makes a database per store it opens (`createDatabase`).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureUser } from './test-user.ts';

const run = promisify(execFile);

/** The OS account the test clusters run as. */
const OS_USER = 'custodian-pg';
/** The database superuser the tests (and the collector under test) connect as. */
const DB_USER = 'custodian';

export interface PgCluster {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** URL of one database of this cluster. */
  url(database: string): string;
  /** Creates a new empty database (a fresh name unless given); returns its name. */
  createDatabase(name?: string): Promise<string>;
  dropDatabase(name: string): Promise<void>;
  /** `pg_dump --format=custom` of one database into `file`. */
  dump(database: string, file: string): Promise<void>;
  /** `pg_restore` of a custom-format dump into an existing (empty) database. */
  restore(database: string, file: string): Promise<void>;
  /** Runs SQL through psql on one database; returns its unaligned, tuples-only output. */
  psql(database: string, sql: string): Promise<string>;
  stop(): Promise<void>;
}

/** The newest server installed, e.g. /usr/lib/postgresql/15/bin. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error('PostgreSQL server not installed (Debian package postgresql; scripts/system-deps.sh)');
  }
  return join(root, versions[0] as string, 'bin');
}

/** A free loopback TCP port (also for the NATS and HAProxy test servers). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startPostgres(): Promise<PgCluster> {
  const bin = postgresBinDir();
  const user = ensureUser(OS_USER);
  const root = mkdtempSync(join(tmpdir(), 'custodian-pg-'));
  const data = join(root, 'data');
  const password = randomBytes(18).toString('base64url');
  mkdirSync(data, { mode: 0o700 });
  writeFileSync(join(root, 'pw'), password, { mode: 0o600 });
  for (const p of [root, data, join(root, 'pw')]) chownSync(p, user.uid, user.gid);
  const asUser = (cmd: string, args: string[]) =>
    run('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', join(bin, cmd), ...args], {
      cwd: root,
      timeout: 120_000,
    });
  const port = await freePort();
  const host = '127.0.0.1';
  try {
    await asUser('initdb', [
      '-D',
      data,
      '-U',
      DB_USER,
      `--pwfile=${join(root, 'pw')}`,
      '--auth=scram-sha-256',
      '-E',
      'UTF8',
      '--no-locale',
      '--no-sync',
    ]);
    await asUser('pg_ctl', [
      '-D',
      data,
      '-l',
      join(root, 'server.log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-c listen_addresses=${host} -c port=${port} -c unix_socket_directories=${root}`,
      'start',
    ]);
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  const env = { ...process.env, PGPASSWORD: password, PGHOST: host, PGPORT: String(port), PGUSER: DB_USER };
  const client = (cmd: string, args: string[]) => run(join(bin, cmd), args, { env, timeout: 120_000 });
  const ident = (name: string) => {
    if (!/^[a-z0-9_]{1,63}$/.test(name)) throw new Error(`bad database name ${name}`);
    return name;
  };
  let stopped = false;
  return {
    host,
    port,
    user: DB_USER,
    password,
    url: (database) =>
      `postgresql://${DB_USER}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(database)}`,
    async createDatabase(name) {
      const db = ident(name ?? `t_${randomBytes(6).toString('hex')}`);
      await client('createdb', ['-T', 'template0', db]);
      return db;
    },
    async dropDatabase(name) {
      await client('dropdb', ['--force', ident(name)]);
    },
    async dump(database, file) {
      await client('pg_dump', ['--format=custom', `--file=${file}`, ident(database)]);
    },
    async restore(database, file) {
      await client('pg_restore', ['--exit-on-error', '--no-owner', `--dbname=${ident(database)}`, file]);
    },
    async psql(database, sql) {
      const { stdout } = await client('psql', [
        '-X',
        '-q',
        '-A',
        '-t',
        '-v',
        'ON_ERROR_STOP=1',
        '-d',
        ident(database),
        '-c',
        sql,
      ]);
      return stdout.trim();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await asUser('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
