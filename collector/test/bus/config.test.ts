// The bus settings (config.ts): `bus: none | nats`, nats.url (a secret when it carries
// credentials), nats.name, nats.presenceTtlMs.
import type { CustodianError } from '@custodian/protocol';
import { describe, expect, it } from 'vitest';
import { describeNatsUrl, splitNatsUrl } from '../../src/bus/nats.ts';
import { loadConfig } from '../../src/config.ts';

const PG = { CUSTODIAN_STORE: 'postgres', CUSTODIAN_POSTGRES_URL: 'postgresql://c:p@db/c' };
const load = (env: Record<string, string>, flags: Record<string, string> = {}) =>
  loadConfig({ flags: { 'data-dir': '/tmp/custodian-bus-config', ...flags }, env });
function fails(env: Record<string, string>): CustodianError {
  try {
    load(env);
  } catch (err) {
    return err as CustodianError;
  }
  throw new Error('accepted');
}

describe('bus config', () => {
  it('is none by default; nats with its URL, name and TTL from the environment or --bus', () => {
    expect(load({}).bus).toBe('none');
    const url = 'tls://custodian:n4ts-secret@nats.trust.internal:4222';
    const cfg = load(
      {
        ...PG,
        CUSTODIAN_NATS_URL: url,
        CUSTODIAN_NATS_NAME: 'c1',
        CUSTODIAN_NATS_PRESENCE_TTL_MS: '5000',
      },
      { bus: 'nats' },
    );
    expect(cfg.bus).toBe('nats');
    expect(cfg.nats).toEqual({ url, name: 'c1', presenceTtlMs: 5000 });
    expect(load({ ...PG, CUSTODIAN_BUS: 'nats', CUSTODIAN_NATS_URL: url }).nats.presenceTtlMs).toBe(15_000);
  });

  it('refuses nats without postgres, without a URL, a bad URL (not echoed), a bad name, an unknown bus', () => {
    const url = 'nats://127.0.0.1:4222';
    expect(fails({ CUSTODIAN_BUS: 'nats', CUSTODIAN_NATS_URL: url }).details).toEqual({ field: 'bus' });
    expect(fails({ ...PG, CUSTODIAN_BUS: 'nats' }).details).toEqual({ field: 'nats.url' });
    const bad = fails({ ...PG, CUSTODIAN_BUS: 'nats', CUSTODIAN_NATS_URL: 'http://u:n4ts-secret@h' });
    expect(bad.details).toEqual({ field: 'nats.url' });
    expect(bad.message).not.toContain('n4ts-secret');
    expect(
      fails({ ...PG, CUSTODIAN_BUS: 'nats', CUSTODIAN_NATS_URL: url, CUSTODIAN_NATS_NAME: 'a.b' }).details,
    ).toEqual({ field: 'nats.name' });
    expect(fails({ CUSTODIAN_BUS: 'kafka' }).details).toEqual({ field: 'bus' });
  });

  it('takes the credentials out of the URL: servers without them for logs, apart for the client', () => {
    const url = 'tls://custodian:n4ts%40secret@nats-1:4222, nats://tok3n@nats-2:4222';
    expect(describeNatsUrl(url)).toBe('tls://nats-1:4222,nats://nats-2:4222');
    expect(splitNatsUrl(url)).toEqual({
      servers: ['tls://nats-1:4222', 'nats://nats-2:4222'],
      user: 'custodian',
      pass: 'n4ts@secret',
      token: 'tok3n',
    });
  });
});
