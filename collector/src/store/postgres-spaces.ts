// The key spaces of the PostgreSQL store (postgres-engine.ts): which table (and key column) holds
// which keys, how a run of puts is written to it, and the merge of per-table range scans into the
// one key order the domain stores expect. `tl` records are rows of custodian_timeline; `ev` dedup
// pointers are derived from those rows (its generated ev_key column); everything else is in
// custodian_kv (postgres-migrations.ts).
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

export const SPACES: readonly Space[] = [KV_SPACE, TIMELINE_SPACE, EVENT_REF_SPACE];

export function spaceOf(key: string): Space {
  if (key.startsWith(TL)) return TIMELINE_SPACE;
  if (key.startsWith(EV)) return EVENT_REF_SPACE;
  return KV_SPACE;
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
