// Benchmarks report ratios against a baseline measured in the same run (DEVELOPERS.md).
export interface BenchRow {
  metric: string;
  value: number;
  unit: string;
  /** The same measure for the baseline, taken in this run. */
  baseline?: number;
  baselineLabel?: string;
  /** value / baseline (or the ratio that matters, as the row explains). */
  ratio?: number;
  /** A target from the issue, e.g. "≤ 1.5× bare node". */
  target?: string;
}

export interface BenchResult {
  title: string;
  rows: BenchRow[];
  notes?: string[];
}

export type Bench = () => Promise<BenchResult>;
