// The real CLI, as a child process (bin/custodian-keywords.js through Node 24).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '..', 'bin', 'custodian-keywords.js');

function cli(args: string[], input: string | Buffer) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, timeout: 20_000 });
  return { code: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

describe('custodian-keywords match', () => {
  it('writes one JSON line per input line with original offsets', () => {
    const r = cli(['match'], 'hello world\nhow to k1ll myself\r\nScunthorpe\n\nbet365 casino');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(5);
    expect(lines[0]).toEqual({ matches: [] });
    expect(lines[1].matches).toEqual([
      { term: 'how to kill myself', category: 'suicide', severity: 5, start: 0, end: 18 },
    ]);
    expect(lines[2]).toEqual({ matches: [] });
    expect(lines[3]).toEqual({ matches: [] });
    expect(lines[4].matches.map((m: { category: string }) => m.category)).toEqual(['gambling', 'gambling']);
  });

  it("adds rule, pattern and language fields only where they apply; a rule's term is its description", () => {
    const r = cli(['match'], 'ill give you 500 robux for a pic\nchcę umrzeć\n');
    expect(r.code, r.stderr).toBe(0);
    const [rule, polish] = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l).matches);
    expect(rule).toEqual([
      {
        term: 'Game currency or gifts offered for a photo or video',
        category: 'grooming',
        severity: 5,
        start: 17, // 'robux for a pic'
        end: 32,
        rule: 'gr-currency-for-photo',
        pattern: expect.stringContaining('robux|v bucks'),
      },
    ]);
    expect(polish).toEqual([
      { term: 'chce umrzec', category: 'suicide', severity: 5, start: 0, end: 11, language: 'pl' },
    ]);
  });

  it('honours --age-band and --categories', () => {
    const staff = cli(['match', '--age-band', 'staff'], 'fatty\n');
    expect(JSON.parse(staff.stdout)).toEqual({ matches: [] });
    const only = cli(['match', '--categories', 'drugs'], 'porn and cocaine\n');
    expect(JSON.parse(only.stdout).matches.map((m: { term: string }) => m.term)).toEqual(['cocaine']);
  });

  it('rejects invalid UTF-8 with a coded error naming the line, exit 1', () => {
    const r = cli(['match'], Buffer.concat([Buffer.from('ok\n'), Buffer.from([0xff, 0xfe, 0x0a])]));
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toHaveLength(1); // the good line was answered first
    expect(JSON.parse(r.stderr)).toEqual({
      error: { code: 'CUST_ERR_INVALID_INPUT', message: 'line 2: not valid UTF-8' },
    });
  });

  it('rejects bad usage with exit 2', () => {
    expect(cli(['frobnicate'], '').code).toBe(2);
    const bad = cli(['match', '--age-band', 'toddler'], 'x\n');
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stderr).error.code).toBe('CUST_ERR_INVALID_CONFIG');
    expect(cli(['match', '--nope'], '').code).toBe(2);
  });

  it('prints library stats', () => {
    const r = cli(['stats'], '');
    expect(r.code).toBe(0);
    const stats = JSON.parse(r.stdout);
    expect(stats.terms).toBeGreaterThanOrEqual(1000);
    expect(stats.rules).toBeGreaterThanOrEqual(100);
    expect(stats.entries).toBe(stats.terms + stats.rules);
    expect(Object.keys(stats.byLanguage)).toHaveLength(13);
  });
});
