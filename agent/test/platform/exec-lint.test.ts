// The rule "every child process goes through platform/exec.ts" is enforced by Biome
// (biome.json, noRestrictedImports on agent/src). These run the real linter on probe files so
// the rule cannot silently stop applying (a renamed path, a dropped override).
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const biome = join(root, 'node_modules/.bin/biome');
const probes: string[] = [];

afterEach(async () => {
  for (const p of probes.splice(0)) await rm(p, { force: true });
});

function lint(relPath: string, text: string): Promise<{ code: number; out: string }> {
  const abs = join(root, relPath);
  probes.push(abs);
  return writeFile(abs, text).then(
    () =>
      new Promise((resolve) => {
        execFile(biome, ['lint', '--colors=off', relPath], { cwd: root }, (err, stdout, stderr) => {
          const code = err ? ((err as { code?: number }).code ?? 1) : 0;
          resolve({ code: typeof code === 'number' ? code : 1, out: stdout + stderr });
        });
      }),
  );
}

const tag = `${process.pid}-${Date.now()}`;

describe('lint: node:child_process only in platform/exec.ts', () => {
  it('refuses a direct spawn elsewhere in the agent, naming exec.ts', async () => {
    const r = await lint(
      `agent/src/link/lint-probe-${tag}.ts`,
      "import { spawn } from 'node:child_process';\n\nexport const p = spawn('true', []);\n",
    );
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('noRestrictedImports');
    expect(r.out).toContain('agent/src/platform/exec.ts');
  }, 30_000);

  it('refuses the bare module name and type-only imports too (import the type from exec.ts)', async () => {
    const r = await lint(
      `agent/src/platform/lint-probe-${tag}.ts`,
      "import type { ChildProcess } from 'child_process';\n\nexport type P = ChildProcess;\n",
    );
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('noRestrictedImports');
  }, 30_000);

  it('accepts the same import through exec.ts', async () => {
    const r = await lint(
      `agent/src/link/lint-probe-ok-${tag}.ts`,
      "import { type ChildProcess, spawnTied } from '../platform/exec.ts';\n\nexport const p: ChildProcess = spawnTied('true', [], {});\n",
    );
    expect(r.out).not.toContain('noRestrictedImports');
    expect(r.code).toBe(0);
  }, 30_000);
});
