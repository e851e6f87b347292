// Schema of the PostgreSQL store: plain SQL, versioned, applied at start in order in ONE
// transaction (PostgreSQL DDL is transactional: all pending versions or none) under a
// transaction-scoped advisory lock (two processes starting at once apply a version once). `custodian_schema_version` records what has been applied. Kept in this module,
// not as .sql files on disk: the .deb runs the collector as one bundled file with no source tree
// to read files from (packaging/src/bundle.ts), and a string in a module is bundled with it.
// Never edit a released migration: add the next version.
import type { PoolClient } from 'pg';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'kv',
    // One ordered key-value table under the KvEngine interface (store.ts builds every domain
    // view on it). COLLATE "C": byte order, the order level and the memory engine use, which the
    // zero-padded keys (keys.ts) rely on for time and seq ranges.
    sql: `CREATE TABLE custodian_kv (
  key text COLLATE "C" PRIMARY KEY,
  value bytea NOT NULL
);`,
  },
  {
    version: 2,
    name: 'timeline-table',
    // The timeline in its own table: one row per event (the `tl` record), its dedup pointer
    // (`ev` key) derived from the row instead of stored beside it, and the unique constraint on
    // (device, stream, seq). `ev_key` is that triple as the store's key spells it (SAFE_ID parts
    // without `!`, seq zero-padded to 16 digits): a one-to-one function of the triple, so its
    // unique index IS the (device_id, stream_id, seq) constraint, and it serves the `ev` range
    // scans (retention of a retired device) in key order. Not partitioned by time: a unique
    // constraint on a partitioned table must include the partition key, and a replay of
    // (device, stream, seq) must collide whatever time it carries.
    sql: `CREATE TABLE custodian_timeline (
  key text COLLATE "C" PRIMARY KEY,
  device_id text COLLATE "C" NOT NULL,
  time bigint NOT NULL,
  stream_id text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  value bytea NOT NULL,
  ev_key text COLLATE "C" GENERATED ALWAYS AS
    ('ev!' || device_id || '!' || stream_id || '!' || lpad(seq::text, 16, '0')) STORED,
  CONSTRAINT custodian_timeline_device_stream_seq UNIQUE (ev_key)
);
INSERT INTO custodian_timeline (key, device_id, time, stream_id, seq, value)
  SELECT key, split_part(key, '!', 2), split_part(key, '!', 3)::bigint, split_part(key, '!', 4),
         split_part(key, '!', 5)::bigint, value
  FROM custodian_kv WHERE key >= 'tl!' AND key < 'tl!\xff';
DELETE FROM custodian_kv WHERE (key >= 'tl!' AND key < 'tl!\xff') OR (key >= 'ev!' AND key < 'ev!\xff');`,
  },
  {
    version: 3,
    name: 'timeline-partitioned-by-month',
    // The timeline partitioned by month of `time` (ms since the epoch, UTC months), so retention
    // drops a month emptied of events as a whole table (space back at once, no VACUUM) and a
    // device's timeline page reads the months it spans. Partitions are named
    // custodian_timeline_y<YYYY>m<MM>; the collector creates the coming months ahead
    // (postgres-partitions.ts); times outside the window it creates (clock skew, agents' clocks
    // set to 2000) land in custodian_timeline_default. The (device, stream, seq) constraint moves
    // to custodian_event_ref (postgres-spaces.ts says why), keeping its name. Existing rows are
    // copied, each month of the last three years getting its partition here.
    sql: `SET LOCAL TIME ZONE 'UTC';
ALTER TABLE custodian_timeline RENAME TO custodian_timeline_v2;
ALTER TABLE custodian_timeline_v2 RENAME CONSTRAINT custodian_timeline_device_stream_seq TO custodian_timeline_v2_device_stream_seq;
ALTER INDEX custodian_timeline_pkey RENAME TO custodian_timeline_v2_pkey;
CREATE TABLE custodian_event_ref (
  ev_key text COLLATE "C" NOT NULL,
  time bigint NOT NULL,
  CONSTRAINT custodian_timeline_device_stream_seq PRIMARY KEY (ev_key)
);
CREATE TABLE custodian_timeline (
  key text COLLATE "C" NOT NULL,
  device_id text COLLATE "C" NOT NULL,
  time bigint NOT NULL,
  stream_id text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  value bytea NOT NULL,
  CONSTRAINT custodian_timeline_pkey PRIMARY KEY (key, time)
) PARTITION BY RANGE (time);
CREATE TABLE custodian_timeline_default PARTITION OF custodian_timeline DEFAULT;
DO $$
DECLARE m timestamptz;
BEGIN
  FOR m IN
    SELECT DISTINCT date_trunc('month', to_timestamp(time / 1000.0)) FROM custodian_timeline_v2
    WHERE time >= extract(epoch FROM date_trunc('month', now()) - interval '36 months') * 1000
      AND time < extract(epoch FROM date_trunc('month', now()) + interval '3 months') * 1000
  LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF custodian_timeline FOR VALUES FROM (%s) TO (%s)',
      'custodian_timeline_' || to_char(m, '"y"YYYY"m"MM'),
      (extract(epoch FROM m) * 1000)::bigint,
      (extract(epoch FROM m + interval '1 month') * 1000)::bigint);
  END LOOP;
END $$;
INSERT INTO custodian_timeline (key, device_id, time, stream_id, seq, value)
  SELECT key, device_id, time, stream_id, seq, value FROM custodian_timeline_v2;
INSERT INTO custodian_event_ref (ev_key, time) SELECT ev_key, time FROM custodian_timeline_v2;
DROP TABLE custodian_timeline_v2;`,
  },
];

/** Arbitrary constant: the transaction-scoped lock that serialises migration runs. */
export const MIGRATION_LOCK = 0x43_55_53_54_4d_49_47n; // "CUSTMIG"

/** The newest version applied to the database (0: none). */
export async function schemaVersion(client: PoolClient): Promise<number> {
  const { rows } = await client.query<{ v: number | null }>(
    'SELECT max(version) AS v FROM custodian_schema_version',
  );
  return rows[0]?.v ?? 0;
}

/** Applies every migration not yet applied; returns the versions applied by this call. */
export async function migrate(client: PoolClient, migrations = MIGRATIONS): Promise<number[]> {
  const applied: number[] = [];
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
    await client.query(`CREATE TABLE IF NOT EXISTS custodian_schema_version (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM custodian_schema_version');
    const done = new Set(rows.map((r) => r.version));
    const newest = Math.max(0, ...done);
    const known = Math.max(0, ...migrations.map((m) => m.version));
    if (newest > known) {
      throw new Error(
        `the database has schema version ${newest}, newer than this collector knows (${known}): run the newer collector`,
      );
    }
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO custodian_schema_version (version, name) VALUES ($1, $2)', [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return applied;
}
