// The key spaces of the PostgreSQL store (postgres-engine.ts): which table (and key column) holds
// which keys, how a run of puts is written to it, and the merge of per-table range scans into the
// one key order the domain stores expect. `tl` records are rows of custodian_timeline; everything
// else that is not an event is in custodian_kv (postgres-migrations.ts). The `ev` dedup pointers:
// - schema 2: derived from the timeline rows (their generated, UNIQUE ev_key column);
// - schema 3 (timeline partitioned by month): rows of custodian_event_ref (ev_key PRIMARY KEY,
//   time), written in the same statement as their timeline row; the `tl` key a pointer answers is
//   spelled from the two (device, stream, seq from ev_key; time), so it is not stored twice. A unique constraint on a
//   partitioned table must include the partition key (time), and a replay of (device, stream,
//   seq) must collide whatever time it carries: so the triple's constraint is on this small
//   unpartitioned table.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { HIGH, toJsonBytes } from './keys.ts';

export type Bound = [op: '>' | '>=' | '<' | '<=', key: string];

export interface Row {
  key: string;
  value: Buffer;
  tl?: string;
}

/** One part of the key space and the table (and key column) that holds it. */
export interface Space {
  table: string;
  column: string;
  select: string;
  value(row: Row): Uint8Array;
  /** Upsert of a run of puts ($n arrays); undefined: puts are not stored (derived keys). */
  write: string | undefined;
  params(keys: string[], values: Buffer[]): unknown[];
  /** Whether any key of this space can fall between the bounds. */
  meets(lower: Bound | undefined, upper: Bound | undefined): boolean;
  /** Statements deleting these keys (default: DELETE … WHERE column = ANY). */
  deletes?(keys: string[]): [text: string, params: unknown[]][];
  /** Extra WHERE terms for a range scan (partition pruning by time), given the bounds. */
  narrow?(lower: Bound | undefined, upper: Bound | undefined): string[];
}

/** The spaces of one schema version: all of them (scan order irrelevant), and the one of a key. */
export interface Spaces {
  all: readonly Space[];
  of(key: string): Space;
}

const TL = 'tl!';
const EV = 'ev!';

/** Whether keys starting with `prefix` can lie between the bounds. */
function prefixMeets(prefix: string, lower: Bound | undefined, upper: Bound | undefined): boolean {
  if (upper && (upper[1] < prefix || (upper[1] === prefix && upper[0] === '<'))) return false;
  if (lower && lower[1] >= prefix + HIGH) return false;
  return true;
}
/** Whether the bounds lie inside one prefix (so no key of another space can be between them). */
function within(prefix: string, lower: Bound | undefined, upper: Bound | undefined): boolean {
  return !!lower && !!upper && lower[1] >= prefix && upper[1] <= prefix + HIGH;
}

const TIMELINE_KEY = /^tl!([A-Za-z0-9_-]{1,128})!(\d{15})!([A-Za-z0-9_-]{1,128})!(\d{16})$/;

const KV_SPACE: Space = {
  table: 'custodian_kv',
  column: 'key',
  select: 'key, value',
  value: (row) => copy(row.value),
  // A stream state (`st!`) never goes back: with several collector processes on one database a
  // late commit of the process that held the device before cannot lower the high-water mark
  // (`maxSeq`) the process holding it now has written (Welcome/Ack report it).
  write: `INSERT INTO custodian_kv (key, value)
          SELECT * FROM unnest($1::text[], $2::bytea[])
          ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
          WHERE CASE WHEN left(custodian_kv.key, 3) = 'st!'
            THEN (convert_from(custodian_kv.value, 'UTF8')::jsonb->>'maxSeq')::bigint
              <= (convert_from(EXCLUDED.value, 'UTF8')::jsonb->>'maxSeq')::bigint
            ELSE true END`,
  params: (keys, values) => [keys, values],
  meets: (lower, upper) => !within(TL, lower, upper) && !within(EV, lower, upper),
};

const TIMELINE_SPACE: Space = {
  table: 'custodian_timeline',
  column: 'key',
  select: 'key, value',
  value: (row) => copy(row.value),
  write: `INSERT INTO custodian_timeline (key, device_id, time, stream_id, seq, value)
          SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bytea[])
          ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
  params: (keys, values) => {
    const parts = keys.map((k) => {
      const m = TIMELINE_KEY.exec(k);
      if (!m) throw new CustodianError(ErrorCode.STORAGE, `not a timeline key: ${k}`);
      return m;
    });
    return [
      keys,
      parts.map((m) => m[1]),
      parts.map((m) => m[2]),
      parts.map((m) => m[3]),
      parts.map((m) => m[4]),
      values,
    ];
  },
  meets: (lower, upper) => prefixMeets(TL, lower, upper),
};

/**
 * `ev` pointers are not stored: each is the row of its event, read through the generated
 * `ev_key` column, its value the row's `tl` key (as JSON, what records.ts writes). A put is
 * dropped (the `tl` put beside it in the same batch makes the row); a delete deletes the row.
 */
const EVENT_REF_SPACE: Space = {
  table: 'custodian_timeline',
  column: 'ev_key',
  select: 'ev_key AS key, key AS tl',
  value: (row) => toJsonBytes(row.tl),
  write: undefined,
  params: () => [],
  meets: (lower, upper) => prefixMeets(EV, lower, upper),
};

function spacesOf(timeline: Space, refs: Space): Spaces {
  return {
    all: [KV_SPACE, timeline, refs],
    of: (key) => (key.startsWith(TL) ? timeline : key.startsWith(EV) ? refs : KV_SPACE),
  };
}

/** Schema 2: one unpartitioned timeline table, `ev` pointers derived from its rows. */
export const SPACES_V2: Spaces = spacesOf(TIMELINE_SPACE, EVENT_REF_SPACE);

/** A timeline key's `ev` key, in SQL (the seq part of a `tl` key is already zero-padded). */
const EV_OF_TL = (k: string) =>
  `'ev!' || split_part(${k}, '!', 2) || '!' || split_part(${k}, '!', 4) || '!' || split_part(${k}, '!', 5)`;

/** The `tl` key of a pointer row, in SQL (keys.ts: time 15 digits, seq already 16 in ev_key). */
const TL_OF_EV = (ev: string, time: string) =>
  `'tl!' || split_part(${ev}, '!', 2) || '!' || lpad(${time}::text, 15, '0') || '!' || split_part(${ev}, '!', 3) || '!' || split_part(${ev}, '!', 4)`;

const DEVICE_TIME = /^tl!([A-Za-z0-9_-]{1,128})!(?:(\d{15}))?/;

/**
 * Time bounds implied by key bounds within ONE device's timeline (`tl!<device>!<time>…`), so the
 * planner scans only the months in range (partition pruning); none when the range spans devices.
 */
function timeTerms(lower: Bound | undefined, upper: Bound | undefined): string[] {
  const lo = lower && DEVICE_TIME.exec(lower[1]);
  const hi = upper && DEVICE_TIME.exec(upper[1]);
  if (!lo || !hi || lo[1] !== hi[1]) return [];
  const out: string[] = [];
  // Literals, not parameters: checked digits, and plan-time pruning needs constants.
  if (lo[2] !== undefined) out.push(`time >= ${Number(lo[2])}`);
  if (hi[2] !== undefined) out.push(`time <= ${Number(hi[2])}`);
  return out;
}

/** Schema 3: the timeline partitioned by month, the dedup pointers in custodian_event_ref. */
const TIMELINE_SPACE_V3: Space = {
  ...TIMELINE_SPACE,
  // The pointer rows first, in the same statement: a second time for a triple fails it (and the
  // whole batch) on the primary key `custodian_timeline_device_stream_seq`; a rewrite of the same
  // record (sealing, erasure) keeps its pointer and updates the row.
  write: `WITH r AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bytea[])
              AS r(key, device_id, time, stream_id, seq, value)
          ), refs AS (
            INSERT INTO custodian_event_ref (ev_key, time)
            SELECT ${EV_OF_TL('r.key')}, r.time FROM r
            WHERE NOT EXISTS (SELECT 1 FROM custodian_event_ref e WHERE e.ev_key = ${EV_OF_TL('r.key')} AND e.time = r.time)
          )
          INSERT INTO custodian_timeline (key, device_id, time, stream_id, seq, value)
          SELECT * FROM r
          ON CONFLICT (key, time) DO UPDATE SET value = EXCLUDED.value`,
  deletes: (keys) => [
    [
      `DELETE FROM custodian_event_ref WHERE (ev_key, time) IN
         (SELECT ${EV_OF_TL('k')}, split_part(k, '!', 3)::bigint FROM unnest($1::text[]) k)`,
      [keys],
    ],
    [
      'DELETE FROM custodian_timeline WHERE key = ANY($1::text[]) AND time = ANY($2::bigint[])',
      [keys, keys.map((k) => k.split('!')[2] ?? '0')],
    ],
  ],
  narrow: timeTerms,
};

const EVENT_REF_SPACE_V3: Space = {
  table: 'custodian_event_ref',
  column: 'ev_key',
  select: `ev_key AS key, ${TL_OF_EV('ev_key', 'time')} AS tl`,
  value: (row) => toJsonBytes(row.tl),
  write: undefined,
  params: () => [],
  meets: (lower, upper) => prefixMeets(EV, lower, upper),
  // Deleting a pointer deletes its event, as on schema 2 (where the pointer IS the row).
  deletes: (keys) => [
    [
      `WITH gone AS (DELETE FROM custodian_event_ref WHERE ev_key = ANY($1::text[]) RETURNING ev_key, time)
       DELETE FROM custodian_timeline t USING gone
       WHERE t.key = ${TL_OF_EV('gone.ev_key', 'gone.time')} AND t.time = gone.time`,
      [keys],
    ],
  ],
};

export const SPACES_V3: Spaces = spacesOf(TIMELINE_SPACE_V3, EVENT_REF_SPACE_V3);

/** The spaces of a database at this schema version. */
export function spacesFor(version: number): Spaces {
  return version >= 3 ? SPACES_V3 : SPACES_V2;
}

/** Merges key-ordered scans into one key-ordered stream (keys are unique across spaces). */
export async function* merge(
  scans: AsyncGenerator<[string, Uint8Array]>[],
  reverse: boolean,
): AsyncGenerator<[string, Uint8Array]> {
  if (scans.length === 1) {
    yield* scans[0] as AsyncGenerator<[string, Uint8Array]>;
    return;
  }
  const heads = await Promise.all(scans.map((s) => s.next()));
  try {
    for (;;) {
      let pick = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i] as IteratorResult<[string, Uint8Array]>;
        if (h.done) continue;
        const best =
          pick < 0 ? undefined : (heads[pick] as IteratorYieldResult<[string, Uint8Array]>).value[0];
        if (best === undefined || (reverse ? h.value[0] > best : h.value[0] < best)) pick = i;
      }
      if (pick < 0) return;
      yield (heads[pick] as IteratorYieldResult<[string, Uint8Array]>).value;
      heads[pick] = await (scans[pick] as AsyncGenerator<[string, Uint8Array]>).next();
    }
  } finally {
    await Promise.all(scans.map((s) => s.return(undefined)));
  }
}

/** A plain Uint8Array of its own (level's 'view' encoding gives the same; a Buffer's slice() would share). */
export function copy(value: Buffer): Uint8Array {
  return new Uint8Array(value);
}
