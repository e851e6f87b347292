// The config as one declaration (issue 13): refusals name the field and where the value came
// from; the env table, the defaults and the README come from (or are checked against) CONFIG.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG, defaultConfig, ENV_FIELDS, loadConfig } from '../../src/config.ts';
import { leavesOf } from '../../src/config-schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'custodian-config-decl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('config declaration', () => {
  it('names the field and its source: file, env or flag', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ http: { maxConnections: 3 } }));
    expect(messageOf(() => loadConfig({ flags: { 'data-dir': dir, config: file }, env: {} }))).toBe(
      `config field http.maxConnections: must be a whole number from 10 to 1000000 (got 3) (from file ${file})`,
    );
    expect(
      messageOf(() => loadConfig({ flags: { 'data-dir': dir }, env: { CUSTODIAN_PORT: 'eighty' } })),
    ).toBe(
      'config field port: must be a whole number from 0 to 65535 (got "eighty") (from env CUSTODIAN_PORT)',
    );
    expect(
      messageOf(() =>
        loadConfig({ flags: { 'data-dir': dir, 'log-level': 'loud' }, env: { CUSTODIAN_LOG_LEVEL: 'info' } }),
      ),
    ).toBe(
      'config field logLevel: must be one of fatal, error, warn, info, debug, trace, silent (got "loud") (from flag --log-level)',
    );
    expect(
      messageOf(() =>
        loadConfig({
          flags: { 'data-dir': dir },
          env: { CUSTODIAN_METRICS_ALLOW_FROM: '10.0.0.0/8,db.school' },
        }),
      ),
    ).toBe(
      'config field metrics.allowFrom: not an IP address or CIDR range: "db.school" (from env CUSTODIAN_METRICS_ALLOW_FROM)',
    );
  });

  it('the env table and the defaults come from the declaration', () => {
    const leaves = leavesOf(CONFIG);
    for (const [env, field] of Object.entries(ENV_FIELDS)) expect(leaves.get(field)?.env).toBe(env);
    expect(ENV_FIELDS['CUSTODIAN_PORT']).toBe('port');
    const d = defaultConfig(join(dir, 'data'));
    expect(d.port).toBe((leaves.get('port') as { default: number }).default);
    expect(d.screenshotKeyFile).toBe(join(dir, 'custodian-screenshot.key'));
    expect(d.auth.mfaRequiredRoles).toEqual(['admin', 'dsl']);
    d.auth.mfaRequiredRoles.push('it');
    expect(defaultConfig(dir).auth.mfaRequiredRoles).toEqual(['admin', 'dsl']);
    // `none` empties a list that has an empty word; the other lists read commas.
    const lab = loadConfig({ flags: { 'data-dir': dir }, env: { CUSTODIAN_MFA_REQUIRED_ROLES: 'none' } });
    expect(lab.auth.mfaRequiredRoles).toEqual([]);
  });

  it('collector/README.md lists every setting and its environment variable', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## API'));
    for (const [field, leaf] of leavesOf(CONFIG)) {
      expect(table, field).toContain(`\`${field}\``);
      if (leaf.env) expect(table, leaf.env).toContain(`\`${leaf.env}\``);
    }
  });
});
