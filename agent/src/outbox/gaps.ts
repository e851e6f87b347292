// Drops are remembered as pending gaps (one per reason, ranges merged) until there is room
// to write the Gap event itself, so a full outbox does not spend its last slots on gaps.
// `oversized`: an event that would not fit in one frame even with its strings cut.
export type GapReason = 'outbox-full' | 'corrupt-entry' | 'disk-full' | 'oversized';

export interface PendingGap {
  fromSeq: number;
  toSeq: number;
  reason: GapReason;
  dropped: number;
}

export function addToGaps(gaps: PendingGap[], seq: number, reason: GapReason): PendingGap[] {
  const existing = gaps.find((g) => g.reason === reason);
  if (!existing) return [...gaps, { fromSeq: seq, toSeq: seq, reason, dropped: 1 }];
  return gaps.map((g) =>
    g === existing
      ? { ...g, fromSeq: Math.min(g.fromSeq, seq), toSeq: Math.max(g.toSeq, seq), dropped: g.dropped + 1 }
      : g,
  );
}
