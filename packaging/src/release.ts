// dist/release/: every artefact, a SHA-256 list (sha256sum format: `sha256sum -c SHA256SUMS`
// checks it) and one CycloneDX SBOM per artefact under sbom/.
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : [p];
  });
}

/** Writes SHA256SUMS for every file of the release (but itself); returns the lines. */
export async function writeChecksums(releaseDir: string): Promise<string[]> {
  const files = filesUnder(releaseDir)
    .filter((f) => relative(releaseDir, f) !== 'SHA256SUMS')
    .sort();
  const lines: string[] = [];
  for (const f of files) lines.push(`${await sha256File(f)}  ${relative(releaseDir, f)}`);
  writeFileSync(join(releaseDir, 'SHA256SUMS'), `${lines.join('\n')}\n`);
  return lines;
}

export function sizeOf(file: string): number {
  return statSync(file).size;
}
