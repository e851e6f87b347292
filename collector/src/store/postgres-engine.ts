// KvEngine on PostgreSQL (node-postgres pool). Keys live in one of two tables: the timeline
// (`tl` records, and the `ev` dedup pointers derived from them) in `custodian_timeline`, with the
// unique (device, stream, seq) constraint; every other key in `custodian_kv (key text COLLATE "C"
// PRIMARY KEY, value bytea)` (postgres-migrations.ts; the mapping is postgres-spaces.ts). Range
// scans merge the two in key order, so the domain stores above see one ordered key space as on level. A batch is one transaction; `sync: true` is a plain COMMIT, durable
// once it returns with PostgreSQL's default synchronous_commit = on (WAL flushed); `sync: false`
// commits with synchronous_commit = off for that transaction only (like level's unsynced write:
// made durable by the next synced commit, whose WAL flush covers everything before it). Range
// scans are keyset-paginated (pages of PAGE rows), so a long scan holds no connection between
// pages; unlike a level iterator it is not a snapshot: a write between two pages may be seen.
//
// Writers per database: the engine holds a session-level advisory lock (WRITER_LOCK) on its own
// connection for as long as it is open. `sharedWriters: false` (default) takes it exclusive: one
// collector per database, a second fails to start with CUST_ERR_STORE_LOCKED. `sharedWriters:
// true` (several collectors behind a load balancer, `bus: nats`) takes the SAME key shared: shared
// writers coexist, and an exclusive one cannot start beside them nor they beside it. With shared
// writers the store's read-modify-writes take cross-process locks (`lock`, postgres-locks.ts) and
// the single-runner jobs are elected per run (`runExclusive`). If the writer-lock connection
// drops, writes are refused until the lock is taken again.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import pg from 'pg';
import { PostgresLocks } from './postgres-locks.ts';
import { MIGRATIONS, migrate, schemaVersion } from './postgres-migrations.ts';
import { dropEmpty, ensureMonths } from './postgres-partitions.ts';
import { type Bound, merge, type Row, type Space, type Spaces, spacesFor } from './postgres-spaces.ts';
import type { JobResult, KvEngine, KvOp, KvRange } from './types.ts';

/** Rows fetched per round trip by a range scan. */
const PAGE = 500;
/** The session-level lock a collector holds on its database for as long as it runs. */
export const WRITER_LOCK = 0x43_55_53_54_57_52_54n; // "CUSTWRT"

export interface PostgresEngineOptions {
  /** libpq-style URL, e.g. postgresql://custodian:secret@db.example/custodian. */
  url: string;
  /** Connections in the pool (the writer lock takes one more). */
  poolMax?: number;
  /** How long to wait for the writer lock at start (a killed predecessor's session ending). */
  lockWaitMs?: number;
  /**
   * false (default): this collector is the only writer (exclusive writer lock). true: several
   * collector processes write this database at once (shared writer lock; read-modify-writes and
   * single-runner jobs take PostgreSQL advisory locks). Mixing the two modes is refused.
   */
  sharedWriters?: boolean;
  /** With sharedWriters: connections for read-modify-write sections and jobs (their own pool). */
  lockPoolMax?: number;
  /** With sharedWriters: the longest wait for a read-modify-write lock before CUST_ERR_STORAGE. */
  lockTimeoutMs?: number;
  /** Apply migrations up to this version only (benches and tests of an older schema). */
  schemaVersion?: number;
  /** Every statement the engine sends (tests: EXPLAIN of the console's queries). */
  onQuery?: (text: string, params: unknown[]) => void;
}

/** How often the coming months' timeline partitions are checked (created ahead). */
const PARTITION_CHECK_MS = 6 * 3_600_000;

export async function openPostgresEngine(options: PostgresEngineOptions): Promise<KvEngine> {
  const base: pg.ClientConfig = {
    connectionString: options.url,
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
    application_name: 'custodian-collector',
  };
  const pool = new pg.Pool({ ...base, max: options.poolMax ?? 10 });
  // An idle pooled connection that breaks (server restart) is dropped by the pool; without a
  // listener the 'error' event would end the process. The next query reports the failure.
  pool.on('error', () => undefined);
  const where = describeUrl(options.url);
  let version: number;
  try {
    const client = await pool.connect();
    try {
      const cap = options.schemaVersion;
      await migrate(client, cap === undefined ? MIGRATIONS : MIGRATIONS.filter((m) => m.version <= cap));
      version = await schemaVersion(client);
    } finally {
      client.release();
    }
    if (version >= 3) await ensureMonths(pool, Date.now());
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw storageError(`cannot open the PostgreSQL store at ${where}`, err);
  }
  const locks = options.sharedWriters
    ? new PostgresLocks(
        new pg.Pool({
          ...base,
          max: options.lockPoolMax ?? 6,
          application_name: 'custodian-collector-locks',
        }),
        options.lockTimeoutMs ?? 30_000,
      )
    : undefined;
  const engine = new PostgresEngine(pool, base, where, locks, version, options.onQuery);
  try {
    await engine.takeWriterLock(options.lockWaitMs ?? 5_000);
  } catch (err) {
    // Ends its timer, the lock pool and the pool.
    await engine.close().catch(() => undefined);
    throw err;
  }
  return engine;
}

/** The URL without its password, for messages and logs. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    // libpq also takes the password as a parameter (`?password=`).
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.toString();
  } catch {
    return '(unparsable PostgreSQL URL)';
  }
}

class PostgresEngine implements KvEngine {
  private readonly pool: pg.Pool;
  private readonly clientConfig: pg.ClientConfig;
  private readonly where: string;
  private writerLock: pg.Client | undefined;
  private relocking: Promise<void> | undefined;
  private closed = false;
  private readonly locks: PostgresLocks | undefined;
  readonly sharedWriters: boolean;
  readonly shared: boolean;

  private readonly spaces: Spaces;
  private readonly version: number;
  private readonly partitionTimer: NodeJS.Timeout | undefined;
  private readonly onQuery: ((text: string, params: unknown[]) => void) | undefined;

  constructor(
    pool: pg.Pool,
    clientConfig: pg.ClientConfig,
    where: string,
    locks: PostgresLocks | undefined,
    version: number,
    onQuery?: (text: string, params: unknown[]) => void,
  ) {
    this.pool = pool;
    this.clientConfig = clientConfig;
    this.where = where;
    this.locks = locks;
    this.sharedWriters = locks !== undefined;
    this.shared = this.sharedWriters;
    this.version = version;
    this.spaces = spacesFor(version);
    this.onQuery = onQuery;
    if (version >= 3) {
      this.partitionTimer = setInterval(() => {
        if (!this.closed) void ensureMonths(this.pool, Date.now()).catch(() => undefined);
      }, PARTITION_CHECK_MS);
      this.partitionTimer.unref();
    }
  }

  /** Drops timeline months wholly before `before` that retention has emptied (schema 3). */
  async reclaim(before: number): Promise<string[]> {
    this.check();
    if (this.version < 3) return [];
    try {
      return await dropEmpty(this.pool, before);
    } catch (err) {
      throw storageError('store I/O failed', err);
    }
  }

  async lock<T>(keys: readonly string[] | 'all', fn: () => Promise<T>): Promise<T> {
    this.check();
    // One writer (the exclusive writer lock): the store's in-process lock is enough.
    if (!this.locks) return fn();
    await this.holdLock();
    return this.locks.section(keys, fn);
  }

  async runExclusive<T>(job: string, fn: () => Promise<T>): Promise<JobResult<T>> {
    this.check();
    if (!this.locks) return { ran: true, value: await fn() };
    await this.holdLock();
    return this.locks.runExclusive(job, fn);
  }

  async takeWriterLock(waitMs: number): Promise<void> {
    const client = new pg.Client(this.clientConfig);
    client.on('error', () => undefined);
    try {
      await client.connect();
      const until = Date.now() + waitMs;
      for (;;) {
        const take = this.sharedWriters ? 'pg_try_advisory_lock_shared' : 'pg_try_advisory_lock';
        const { rows } = await client.query<{ ok: boolean }>(`SELECT ${take}($1) AS ok`, [
          WRITER_LOCK.toString(),
        ]);
        if (rows[0]?.ok) break;
        if (Date.now() >= until) throw await this.lockedError(client);
        await new Promise((r) => setTimeout(r, 200));
      }
    } catch (err) {
      await client.end().catch(() => undefined);
      if (err instanceof CustodianError) throw err;
      throw storageError(`cannot take the writer lock on ${this.where}`, err);
    }
    const lost = () => {
      if (this.writerLock === client) this.writerLock = undefined;
    };
    client.on('error', lost);
    client.on('end', lost);
    this.writerLock = client;
  }

  /** CUST_ERR_STORE_LOCKED saying which mode holds the writer lock (pg_locks) and what to do. */
  private async lockedError(client: pg.Client): Promise<CustodianError> {
    const { rows } = await client
      .query<{ mode: string; n: number }>(
        `SELECT mode, count(*)::int AS n FROM pg_locks
         WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND ((classid::bigint << 32) | objid::bigint) = $1::bigint
         GROUP BY mode`,
        [WRITER_LOCK.toString()],
      )
      .catch(() => ({ rows: [] as { mode: string; n: number }[] }));
    const shared = rows.find((r) => r.mode === 'ShareLock')?.n ?? 0;
    const exclusive = rows.some((r) => r.mode === 'ExclusiveLock');
    const holder = exclusive
      ? 'a one-collector deployment (bus: none, sharedWriters off) holds it exclusively'
      : shared > 0
        ? `${shared} shared-writer collector process(es) (sharedWriters on, bus: nats) hold it`
        : 'another collector process holds it';
    const mine = this.sharedWriters
      ? 'this collector runs with sharedWriters on (bus: nats): stop the one-collector deployment, or give every collector of this database bus: nats'
      : 'this collector runs with sharedWriters off (one collector per database): stop the other ones, or run every collector of this database with sharedWriters on (bus: nats)';
    return new CustodianError(
      ErrorCode.STORE_LOCKED,
      `another collector process is using the PostgreSQL store at ${this.where}: ${holder}; ${mine}`,
    );
  }

  /** Before a write: the writer lock is held (re-taken at once if its connection dropped). */
  private async holdLock(): Promise<void> {
    if (this.writerLock) return;
    this.relocking ??= this.takeWriterLock(0).finally(() => {
      this.relocking = undefined;
    });
    await this.relocking;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return (await this.getMany([key]))[0];
  }

  async getMany(keys: string[]): Promise<(Uint8Array | undefined)[]> {
    if (keys.length === 0) return [];
    const found = new Map<string, Uint8Array>();
    for (const space of this.spaces.all) {
      const mine = keys.filter((k) => this.spaces.of(k) === space);
      if (mine.length === 0) continue;
      const { rows } = await this.query<Row>(
        `SELECT ${space.select} FROM ${space.table} WHERE ${space.column} = ANY($1::text[])`,
        [mine],
      );
      for (const row of rows) found.set(row.key, space.value(row));
    }
    return keys.map((k) => found.get(k));
  }

  async batch(ops: KvOp[], options: { sync: boolean }): Promise<void> {
    if (ops.length === 0) return;
    this.check();
    await this.holdLock();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw storageError('store I/O failed', err);
    }
    let broken: unknown;
    try {
      await client.query('BEGIN');
      if (!options.sync) await client.query('SET LOCAL synchronous_commit = off');
      for (const run of runs(ops)) {
        for (const space of this.spaces.all) {
          const at = run.keys.flatMap((k, i) => (this.spaces.of(k) === space ? [i] : []));
          if (at.length === 0) continue;
          const keys = at.map((i) => run.keys[i] as string);
          if (run.type === 'del') {
            for (const [text, params] of space.deletes?.(keys) ?? [
              [`DELETE FROM ${space.table} WHERE ${space.column} = ANY($1::text[])`, [keys]],
            ])
              await client.query(text, params);
          } else if (space.write) {
            await client.query(
              space.write,
              space.params(
                keys,
                at.map((i) => run.values[i] as Buffer),
              ),
            );
          }
        }
      }
      // An error here leaves the outcome unknown (the commit may have landed): the caller does
      // not ack, the agent resends, and ingest's (device, stream, seq) dedup keeps it once.
      await client.query('COMMIT');
    } catch (err) {
      broken = err;
      await client.query('ROLLBACK').catch(() => undefined);
      throw storageError('store I/O failed', err);
    } finally {
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  async *entries(range: KvRange): AsyncIterable<[string, Uint8Array]> {
    const reverse = range.reverse ?? false;
    const limit = range.limit === undefined || range.limit < 0 ? Number.POSITIVE_INFINITY : range.limit;
    const lower: Bound | undefined =
      range.gt !== undefined ? ['>', range.gt] : range.gte !== undefined ? ['>=', range.gte] : undefined;
    const upper: Bound | undefined =
      range.lt !== undefined ? ['<', range.lt] : range.lte !== undefined ? ['<=', range.lte] : undefined;
    const scans = this.spaces.all
      .filter((space) => space.meets(lower, upper))
      .map((space) => this.scan(space, lower, upper, reverse, limit));
    let yielded = 0;
    for await (const entry of merge(scans, reverse)) {
      if (yielded++ >= limit) return;
      yield entry;
    }
  }

  /** One table's keys in range, in order, a page per round trip (keyset pagination). */
  private async *scan(
    space: Space,
    lower: Bound | undefined,
    upper: Bound | undefined,
    reverse: boolean,
    limit: number,
  ): AsyncGenerator<[string, Uint8Array]> {
    let remaining = limit;
    while (remaining > 0) {
      const params: unknown[] = [];
      const where: string[] = [];
      for (const bound of [lower, upper]) {
        if (!bound) continue;
        params.push(bound[1]);
        where.push(`${space.column} ${bound[0]} $${params.length}`);
      }
      where.push(...(space.narrow?.(lower, upper) ?? []));
      const take = Math.min(PAGE, remaining);
      params.push(take);
      const { rows } = await this.query<Row>(
        `SELECT ${space.select} FROM ${space.table}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}
         ORDER BY ${space.column} ${reverse ? 'DESC' : 'ASC'} LIMIT $${params.length}`,
        params,
      );
      for (const row of rows) yield [row.key, space.value(row)];
      remaining -= rows.length;
      const last = rows[rows.length - 1];
      if (rows.length < take || !last) return;
      if (reverse) upper = ['<', last.key];
      else lower = ['>', last.key];
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.partitionTimer);
    const lock = this.writerLock;
    this.writerLock = undefined;
    await lock?.end().catch(() => undefined);
    await this.locks?.close().catch(() => undefined);
    await this.pool.end();
  }

  private check(): void {
    if (this.closed) throw new CustodianError(ErrorCode.STORAGE, 'PostgreSQL store is closed');
  }

  private async query<R extends pg.QueryResultRow>(
    text: string,
    params: unknown[],
  ): Promise<pg.QueryResult<R>> {
    this.check();
    this.onQuery?.(text, params);
    try {
      return await this.pool.query<R>(text, params);
    } catch (err) {
      throw storageError('store I/O failed', err);
    }
  }
}

interface Run {
  type: 'put' | 'del';
  keys: string[];
  values: Buffer[];
}

/**
 * Consecutive ops of one kind, in order (a put then a delete of one key must end deleted). Within
 * a run of puts the last value of a key wins (one INSERT cannot update a row twice).
 */
function runs(ops: KvOp[]): Run[] {
  const out: Run[] = [];
  let current: Run | undefined;
  let index = new Map<string, number>();
  for (const op of ops) {
    if (!current || current.type !== op.type) {
      current = { type: op.type, keys: [], values: [] };
      index = new Map();
      out.push(current);
    }
    const at = index.get(op.key);
    if (op.type === 'put') {
      const value = Buffer.from(op.value.buffer, op.value.byteOffset, op.value.byteLength);
      if (at === undefined) {
        index.set(op.key, current.keys.length);
        current.keys.push(op.key);
        current.values.push(value);
      } else current.values[at] = value;
    } else if (at === undefined) {
      index.set(op.key, current.keys.length);
      current.keys.push(op.key);
    }
  }
  return out;
}

/** PostgreSQL's unique_violation: a key this batch writes once-only is already there. */
const UNIQUE_VIOLATION = '23505';

function storageError(message: string, err: unknown): CustodianError {
  if (err instanceof CustodianError) return err;
  // Another process wrote the same once-only record (an event's (device, stream, seq) pointer,
  // while one device is connected to two processes): the batch conflicts, the store is fine.
  if ((err as { code?: unknown }).code === UNIQUE_VIOLATION)
    return new CustodianError(
      ErrorCode.CONFLICT,
      `store write conflicts with a record already written: ${(err as Error).message}`,
      { cause: err },
    );
  return new CustodianError(ErrorCode.STORAGE, `${message}: ${(err as Error).message}`, { cause: err });
}
