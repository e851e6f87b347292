// Checks on a bench section before it is written to BENCHMARKS.md.
import type { BenchResult } from './types.ts';

/** Why a section cannot be written (no rows, a figure that is not a number), or undefined. */
export function sectionProblem(r: BenchResult): string | undefined {
  if (r.rows.length === 0) return `produced no rows${r.notes?.length ? ` (${r.notes.join('; ')})` : ''}`;
  const bad = r.rows.filter(
    (row) => !Number.isFinite(row.value) || (row.baseline !== undefined && !Number.isFinite(row.baseline)),
  );
  if (bad.length > 0) return `rows without a figure: ${bad.map((b) => b.metric).join('; ')}`;
  return undefined;
}
