// Licensed lists: provenance on import, no clear text in what agents get, matching by keyed hash.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHashedMatcher, hashLicensedList, parseLicensedImport } from '../src/index.ts';

const KEY = Buffer.alloc(32, 7);
const PROVENANCE = {
  source: 'LA list',
  licence: 'LA-2026 members only',
  importedBy: 'dsl1',
  importedAt: '2026-11-28T08:00:00Z',
};

describe('licensed lists', () => {
  it('keeps provenance on every term and rejects bad lines naming them', () => {
    const terms = parseLicensedImport('# comment\nzorblat wobbit\t grooming\nquexplode\tweapons\t5\n', {
      ...PROVENANCE,
      defaultCategory: 'drugs',
    });
    expect(terms).toHaveLength(2);
    for (const t of terms) expect(t).toMatchObject(PROVENANCE);
    expect(() => parseLicensedImport('x\tnope', PROVENANCE)).toThrow(/line 1: unknown category/);
    expect(() => parseLicensedImport('x', { ...PROVENANCE, licence: '' })).toThrow(/licence/);
  });

  it('ships no term in clear, and matches by keyed hash with original offsets', () => {
    const terms = parseLicensedImport('zorblat wobbit\tgrooming\t5\nquexplode\tweapons\t4\n', PROVENANCE);
    const list = hashLicensedList(terms, KEY);
    const shipped = JSON.stringify(list);
    for (const w of ['zorblat', 'wobbit', 'quexplode', 'zorblat wobit']) expect(shipped).not.toContain(w);
    const m = createHashedMatcher(list, KEY);
    const text = 'hello ZORBLAT  w0bbit and QUEXPLODE!';
    const found = m.match(text);
    expect(found.map((f) => [f.category, text.slice(f.start, f.end)])).toEqual([
      ['grooming', 'ZORBLAT  w0bbit'],
      ['weapons', 'QUEXPLODE'],
    ]);
    expect(found[0]!.term).toBe('licensed:LA list#0');
    // another deployment's key finds nothing
    expect(createHashedMatcher(list, Buffer.alloc(32, 9)).match(text)).toEqual([]);
    expect(() => hashLicensedList(terms, Buffer.alloc(8))).toThrow(/32 bytes/);
  });

  it('imports and hashes through the CLI', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-licensed-'));
    const bin = join(import.meta.dirname, '..', 'bin', 'custodian-keywords.js');
    writeFileSync(join(dir, 'in.txt'), 'zorblat wobbit\n');
    writeFileSync(join(dir, 'key'), KEY);
    const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { timeout: 20_000 });
    const out = join(dir, 'list.json');
    const imp = run([
      'import',
      join(dir, 'in.txt'),
      '--source',
      'LA',
      '--licence',
      'L1',
      '--category',
      'grooming',
      '--by',
      'dsl1',
      '--out',
      out,
    ]);
    expect(imp.status, imp.stderr.toString()).toBe(0);
    const stored = JSON.parse(readFileSync(out, 'utf8'));
    expect(stored[0]).toMatchObject({
      term: 'zorblat wobbit',
      source: 'LA',
      licence: 'L1',
      importedBy: 'dsl1',
    });
    expect(Date.parse(stored[0].importedAt)).not.toBeNaN();
    const hashed = join(dir, 'hashed.json');
    const h = run(['hash', '--in', out, '--key-file', join(dir, 'key'), '--out', hashed]);
    expect(h.status, h.stderr.toString()).toBe(0);
    expect(readFileSync(hashed, 'utf8')).not.toContain('zorblat');
    expect(run(['import', join(dir, 'in.txt'), '--source', 'LA', '--out', out]).status).toBe(2); // no licence
  });
});
