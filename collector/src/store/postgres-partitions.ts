// The monthly partitions of the PostgreSQL timeline (schema 3, postgres-migrations.ts): the
// collector creates the current month and the next ones ahead at start and every few hours, so
// ingest never waits on DDL and rows land in their month. A month is created as a plain table,
// any of its rows that had landed in the default partition are moved into it, and it is attached
// — all in one transaction under the migration lock (two collectors never race on it). Months
// outside the window stay in custodian_timeline_default: a device cannot make the collector
// create tables by sending far-off times.
//
// Retention (`dropEmpty`): a month wholly older than the cutoff whose rows retention has deleted
// is dropped as a table, so its space is returned at once (deleted rows otherwise wait for VACUUM
// and stay in the file). Retention still decides row by row: the per-stream purge mark and the
// safeguarding hold need each event, and a held event keeps its month.
import type pg from 'pg';
import { MIGRATION_LOCK } from './postgres-migrations.ts';

/** Months created ahead of the current one. */
export const MONTHS_AHEAD = 2;

export interface Month {
  name: string;
  from: number;
  to: number;
}

/** The UTC month holding `time`, shifted by `offset` months. */
export function monthOf(time: number, offset = 0): Month {
  const d = new Date(time);
  const from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offset, 1);
  const start = new Date(from);
  const to = Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1);
  const mm = String(start.getUTCMonth() + 1).padStart(2, '0');
  return { name: `custodian_timeline_y${start.getUTCFullYear()}m${mm}`, from, to };
}

/** The month partitions that exist, oldest first. */
export async function listMonths(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i
     JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
     WHERE p.relname = 'custodian_timeline' AND c.relname ~ '^custodian_timeline_y[0-9]{4}m[0-9]{2}$'
     ORDER BY c.relname`,
  );
  return rows.map((r) => r.name);
}

/** Creates the current month and MONTHS_AHEAD more when missing; returns the names created. */
export async function ensureMonths(pool: pg.Pool, now: number): Promise<string[]> {
  const have = new Set(await listMonths(pool));
  const created: string[] = [];
  for (let i = 0; i <= MONTHS_AHEAD; i++) {
    const m = monthOf(now, i);
    if (have.has(m.name)) continue;
    if (await createMonth(pool, m)) created.push(m.name);
  }
  return created;
}

async function createMonth(pool: pg.Pool, m: Month): Promise<boolean> {
  const client = await pool.connect();
  let broken: unknown;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
    const exists = await client.query('SELECT 1 FROM pg_class WHERE relname = $1', [m.name]);
    if (exists.rowCount) {
      await client.query('ROLLBACK');
      return false;
    }
    // Names and bounds are built here from numbers (monthOf), never from input.
    await client.query(`CREATE TABLE ${m.name} (LIKE custodian_timeline INCLUDING DEFAULTS)`);
    await client.query(
      `WITH moved AS (DELETE FROM custodian_timeline_default WHERE time >= ${m.from} AND time < ${m.to} RETURNING *)
       INSERT INTO ${m.name} SELECT * FROM moved`,
    );
    await client.query(
      `ALTER TABLE custodian_timeline ATTACH PARTITION ${m.name} FOR VALUES FROM (${m.from}) TO (${m.to})`,
    );
    await client.query('COMMIT');
    return true;
  } catch (err) {
    broken = err;
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release(broken instanceof Error ? broken : undefined);
  }
}

/** Drops month partitions wholly before `before` that hold no row; returns their names. */
export async function dropEmpty(pool: pg.Pool, before: number): Promise<string[]> {
  const dropped: string[] = [];
  for (const name of await listMonths(pool)) {
    const m = /^custodian_timeline_y(\d{4})m(\d{2})$/.exec(name);
    if (!m) continue;
    const end = Date.UTC(Number(m[1]), Number(m[2]), 1);
    if (end > before) continue;
    const client = await pool.connect();
    let broken: unknown;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
      // Locked first: a row cannot arrive between the check and the drop.
      await client.query(`LOCK TABLE ${name} IN ACCESS EXCLUSIVE MODE`);
      const { rowCount } = await client.query(`SELECT 1 FROM ${name} LIMIT 1`);
      if (rowCount) {
        await client.query('ROLLBACK');
        continue;
      }
      await client.query(`DROP TABLE ${name}`);
      await client.query('COMMIT');
      dropped.push(name);
    } catch (err) {
      broken = err;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release(broken instanceof Error ? broken : undefined);
    }
  }
  return dropped;
}
