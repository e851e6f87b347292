// Cross-process locks for several collector processes writing one PostgreSQL database
// (`sharedWriters`, postgres-engine.ts). Two kinds, both PostgreSQL advisory locks on a small pool
// of their own (so a section waiting for a lock never starves the data queries of connections):
//
// - `section(keys | 'all', fn)`: mutual exclusion for a read-modify-write. A transaction holds
//   transaction-scoped locks while `fn` reads and writes through the engine's pool, and commits
//   (releasing them) when `fn` is done: `fn`'s writes are committed before the next holder reads.
//   Intention locking: a section on some records holds RMW_ALL shared plus each record's lock
//   exclusive (in hash order, no deadlock); a section on 'all' (a multi-record decision: an
//   enrolment, a replacement, the sealing migration) holds RMW_ALL exclusive. A holder that dies
//   loses its session and with it the locks. `lock_timeout` bounds a wait (a wedged holder).
// - `runExclusive(job, fn)`: a single-runner job (retention, the notification pass, the health
//   monitor, the session sweep): a session-scoped try-lock held while `fn` runs. Another process
//   running the same job makes this call return `{ ran: false }` at once. The holder's death ends
//   its session and frees the job for whichever process ticks next (failover).
//
// What this does not fence: a holder whose connection to PostgreSQL breaks mid-section keeps
// running `fn` (its writes go through other connections) while another process may take the lock.
// TCP keepalive bounds how long a vanished host holds a lock; a live partition is not fenced.
import { createHash } from 'node:crypto';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type pg from 'pg';
import type { JobResult } from './types.ts';

/** Advisory lock spaces (first int4 of the two-key form); distinct from the bigint WRITER_LOCK. */
const RMW_ALL = 0x43_55_52_01;
const RMW_KEY = 0x43_55_52_02;
const JOB = 0x43_55_52_03;

/** A stable int4 for a key (collisions only serialise two unrelated sections). */
export function lockHash(key: string): number {
  return createHash('sha256').update(key).digest().readInt32BE(0);
}

export class PostgresLocks {
  private readonly pool: pg.Pool;
  private readonly lockTimeoutMs: number;

  constructor(pool: pg.Pool, lockTimeoutMs: number) {
    this.pool = pool;
    this.lockTimeoutMs = lockTimeoutMs;
    // A broken idle connection must not end the process (postgres-engine.ts does the same).
    pool.on('error', () => undefined);
  }

  async section<T>(keys: readonly string[] | 'all', fn: () => Promise<T>): Promise<T> {
    const client = await this.connect();
    let broken: unknown;
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(this.lockTimeoutMs))}`);
      if (keys === 'all') await client.query('SELECT pg_advisory_xact_lock($1, 0)', [RMW_ALL]);
      else {
        await client.query('SELECT pg_advisory_xact_lock_shared($1, 0)', [RMW_ALL]);
        for (const h of [...new Set(keys.map(lockHash))].sort((a, b) => a - b))
          await client.query('SELECT pg_advisory_xact_lock($1, $2)', [RMW_KEY, h]);
      }
    } catch (err) {
      broken = err;
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(err instanceof Error ? err : true);
      throw lockError('cannot take a read-modify-write lock', err);
    }
    let value: T;
    try {
      value = await fn();
    } catch (err) {
      // The section's own error (not found, refused…): the connection is fine once rolled back.
      await client.query('ROLLBACK').then(
        () => client.release(),
        (e: unknown) => client.release(e instanceof Error ? e : true),
      );
      throw err;
    }
    // The section's writes are already committed through the engine; a COMMIT that fails here
    // only means the lock's connection broke (and the lock went with it): the caller's outcome
    // stands, the connection is dropped.
    await client.query('COMMIT').catch((err: unknown) => {
      broken = err instanceof Error ? err : new Error(String(err));
    });
    client.release(broken instanceof Error ? broken : undefined);
    return value;
  }

  async runExclusive<T>(job: string, fn: () => Promise<T>): Promise<JobResult<T>> {
    const client = await this.connect();
    const key = [JOB, lockHash(job)];
    let ok: boolean;
    try {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', key);
      ok = rows[0]?.ok === true;
    } catch (err) {
      client.release(err instanceof Error ? err : true);
      throw lockError(`cannot take the ${job} job lock`, err);
    }
    if (!ok) {
      client.release();
      return { ran: false };
    }
    let unlocked = false;
    try {
      return { ran: true, value: await fn() };
    } finally {
      unlocked = await client
        .query('SELECT pg_advisory_unlock($1, $2)', key)
        .then(() => true)
        .catch(() => false);
      // A connection that could not unlock is closed: ending the session frees the lock.
      client.release(unlocked ? undefined : true);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (err) {
      throw lockError('store I/O failed', err);
    }
  }
}

function lockError(message: string, err: unknown): CustodianError {
  if (err instanceof CustodianError) return err;
  return new CustodianError(ErrorCode.STORAGE, `${message}: ${(err as Error).message}`, { cause: err });
}
