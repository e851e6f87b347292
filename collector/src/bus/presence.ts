// Pure decisions on the presence buckets (nats.ts is the shell that reads and writes them).

import type { PresenceEntry } from './bus.ts';

/** A presence entry as the watcher saw it, with the bucket revision of that write. */
export interface SeenEntry {
  entry: PresenceEntry;
  revision: number;
}

/** What this process claimed for a device (revision once the put returned). */
export interface MyClaim {
  session: string;
  revision?: number;
}

/**
 * Is this process's session of the device superseded by `seen`? Only by a later write (higher
 * revision) of a different session: two claims racing are settled by the bucket's order, and the
 * older claimant closes its own session.
 */
export function supersedes(seen: SeenEntry, mine: MyClaim | undefined): boolean {
  if (!mine || mine.revision === undefined) return false;
  return seen.entry.session !== mine.session && seen.revision > mine.revision;
}

/**
 * Processes (other than `self`) holding devices in `presence` that have not renewed their
 * heartbeat within `ttlMs`. Undecidable (empty) until this process has itself been connected for
 * `ttlMs`: a live process renews every ttl/3, so by then each live one has been seen.
 */
export function goneProcesses(opts: {
  self: string;
  presence: Iterable<SeenEntry>;
  lastSeen: ReadonlyMap<string, number>;
  connectedSince: number | undefined;
  now: number;
  ttlMs: number;
}): Set<string> {
  const gone = new Set<string>();
  if (opts.connectedSince === undefined || opts.now - opts.connectedSince < opts.ttlMs) return gone;
  for (const { entry } of opts.presence) {
    if (entry.process === opts.self) continue;
    const seen = opts.lastSeen.get(entry.process);
    if (seen === undefined || opts.now - seen >= opts.ttlMs) gone.add(entry.process);
  }
  return gone;
}

/** Is `process` known alive (renewed within the TTL)? This process always is. */
export function alive(
  process: string,
  self: string,
  lastSeen: ReadonlyMap<string, number>,
  now: number,
  ttlMs: number,
): boolean {
  if (process === self) return true;
  const seen = lastSeen.get(process);
  return seen !== undefined && now - seen < ttlMs;
}

/** A presence entry read from the bucket, or undefined when it is not one. */
export function parseEntry(value: Uint8Array): PresenceEntry | undefined {
  try {
    const v = JSON.parse(new TextDecoder().decode(value)) as Partial<PresenceEntry>;
    if (
      typeof v.process === 'string' &&
      typeof v.session === 'string' &&
      typeof v.streamId === 'string' &&
      typeof v.since === 'number'
    )
      return { process: v.process, session: v.session, streamId: v.streamId, since: v.since };
  } catch {
    // not JSON
  }
  return undefined;
}
