// Where `pnpm soak` writes in BENCHMARKS.md: everything after SOAK_MARKER belongs to the soak
// campaigns, one block per campaign between its own start/end comments. `pnpm bench` rewrites
// the part above the marker and keeps this tail as it is (soakTail).

export const SOAK_MARKER = '<!-- soak campaigns: written by `pnpm soak`, kept by `pnpm bench` -->';

const start = (name: string) => `<!-- soak:${name}:start -->`;
const end = (name: string) => `<!-- soak:${name}:end -->`;

/** The soak part of a BENCHMARKS.md (from the marker on), or '' when it has none. */
export function soakTail(md: string): string {
  const at = md.indexOf(SOAK_MARKER);
  return at < 0 ? '' : md.slice(at);
}

/** md with campaign `name`'s block replaced by `block` (added at the end if it had none). */
export function withSoakBlock(md: string, name: string, block: string): string {
  let text = md.includes(SOAK_MARKER)
    ? md
    : `${md.trimEnd()}\n\n${SOAK_MARKER}\n\n# Soak campaigns\n\nWritten by \`pnpm soak [name]\` (test/soak/run.ts), one campaign at a time; each block says when it ran, with which seed and parameters, for how long. A campaign that found a problem is written with its problems listed.\n`;
  const wrapped = `${start(name)}\n${block.trim()}\n${end(name)}`;
  const s = text.indexOf(start(name));
  const e = text.indexOf(end(name));
  if (s >= 0 && e > s) return text.slice(0, s) + wrapped + text.slice(e + end(name).length);
  text = `${text.trimEnd()}\n\n${wrapped}\n`;
  return text;
}
