// A soak campaign (issue 21): run by `pnpm soak [name]` at full scale, by soak-smoke.test.ts small.

export interface SoakRow {
  metric: string;
  value: number;
  unit: string;
  /** The target, e.g. "≥ 100". */
  target?: string;
}

export interface SoakOutcome {
  title: string;
  rows: SoakRow[];
  notes: string[];
  /** Losses, duplicates, crashes, unnamed close codes…; empty when the campaign passed. */
  problems: string[];
}

export interface SoakCampaign {
  name: string;
  /** The full run's parameters (the numbers); `--key value` overrides each. */
  defaults: Record<string, number>;
  run(params: Record<string, number> & { seed: number }, log: (line: string) => void): Promise<SoakOutcome>;
}
