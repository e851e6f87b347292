// The logger redacts credentials by exact field name (any depth, any case, _ or - ignored) and
// keeps everything else — above all error codes, which a /code/ pattern used to eat.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { describe, expect, it } from 'vitest';
import { createLogger, isSecretField, SECRET_FIELDS } from '../../src/config/logger.ts';

function capture(): {
  raw: () => string;
  log: ReturnType<typeof createLogger>;
} {
  const out: string[] = [];
  const log = createLogger({ level: 'debug', write: (l) => void out.push(l) });
  return { raw: () => out.join(''), log };
}

function parsed(raw: string): Record<string, unknown>[] {
  return raw
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const KEY = 'dk_5f1b9c2e7a0d4e8f9b3c6a1d2e4f7a8b';

describe('logger redaction', () => {
  it('keeps error codes: a top-level code, a nested one, and the code of a logged error', () => {
    const c = capture();
    c.log.warn('collector reported an error', { code: 'AUTH_FAILED', message: 'bad key' });
    c.log.error('close', { code: 4001, detail: { code: ErrorCode.DEVICE_REVOKED } });
    c.log.error('failed', { err: new CustodianError(ErrorCode.COMMAND_TIMEOUT, 'xprop: no answer') });
    const [a, b, e] = parsed(c.raw());
    expect(a!['code']).toBe('AUTH_FAILED');
    expect(b!['code']).toBe(4001);
    expect(b!['detail']).toEqual({ code: ErrorCode.DEVICE_REVOKED });
    expect((e!['err'] as { code: string }).code).toBe(ErrorCode.COMMAND_TIMEOUT);
  });

  it('redacts credentials by exact name, at any depth, whatever their type or spelling', () => {
    const c = capture();
    c.log.info('creds', {
      deviceKey: KEY,
      device_key: KEY,
      SECRET: KEY,
      creds: { deviceId: 'dev-1', deviceKey: KEY, nested: [{ token: KEY }] },
      headers: { authorization: `Bearer ${KEY}`, Cookie: `sid=${KEY}` },
      password: Buffer.from(KEY),
      enrolSecret: { value: KEY },
    });
    const raw = c.raw();
    expect(raw).not.toContain(KEY);
    expect(raw).not.toContain(Buffer.from(KEY).toString('base64'));
    const [r] = parsed(raw);
    expect(r!['deviceKey']).toBe('[redacted]');
    expect(r!['device_key']).toBe('[redacted]');
    expect(r!['creds']).toEqual({
      deviceId: 'dev-1',
      deviceKey: '[redacted]',
      nested: [{ token: '[redacted]' }],
    });
  });

  it('does not redact names that merely contain a secret word', () => {
    const c = capture();
    c.log.info('x', {
      keyword: 'self-harm',
      monkey: 1,
      tokenCount: 3,
      codeName: 'n',
      passwordPolicy: 'min 8',
    });
    const [r] = parsed(c.raw());
    expect(r).toMatchObject({
      keyword: 'self-harm',
      monkey: 1,
      tokenCount: 3,
      codeName: 'n',
      passwordPolicy: 'min 8',
    });
  });

  it('lists the exact names it redacts, and code is not one of them', () => {
    expect(SECRET_FIELDS).toEqual(
      expect.arrayContaining(['deviceKey', 'secret', 'enrolSecret', 'password', 'token', 'cookie']),
    );
    expect(isSecretField('code')).toBe(false);
    expect(isSecretField('Device-Key')).toBe(true);
  });
});
