// The installer's enrol config: parsed strictly, trusted only as a private regular file, enrolled
// from once and then deleted. The enrolment itself against a real collector is in
// test/e2e/package-agent-deb.test.ts (the installed .deb).
import { chmod, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/config/logger.ts';
import { saveCredentials } from '../../src/identity/credentials.ts';
import type { EnrolOptions } from '../../src/identity/enrol.ts';
import { enrolFromConfig, parseEnrolConfig } from '../../src/identity/enrol-config.ts';

describe('parseEnrolConfig', () => {
  it('reads SERVER and ENROL_SECRET, skipping comments and blank lines, quotes optional', () => {
    expect(
      parseEnrolConfig(
        '# written by the installer\n\nSERVER="https://c.school.example"\r\nENROL_SECRET=abc_DEF-123\n',
      ),
    ).toEqual({ server: 'https://c.school.example', secret: 'abc_DEF-123' });
  });

  it('refuses unknown keys, empty values and a missing key', () => {
    expect(() => parseEnrolConfig('SERVER=x\nENROL_SECRET=y\nEXTRA=z')).toThrow(/line 3/);
    expect(() => parseEnrolConfig('SERVER=\nENROL_SECRET=y')).toThrow(/SERVER is empty/);
    expect(() => parseEnrolConfig('SERVER=https://x')).toThrow(/both SERVER and ENROL_SECRET/);
    expect(() => parseEnrolConfig('just text')).toThrow(/expected SERVER= or ENROL_SECRET=/);
  });
});

describe('enrolFromConfig', () => {
  let dir: string;
  let dataDir: string;
  let file: string;
  let calls: EnrolOptions[];
  const record = async (o: EnrolOptions) => {
    calls.push(o);
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'enrol-config-'));
    dataDir = join(dir, 'data');
    file = join(dir, 'enrol.conf');
    calls = [];
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('without a file does nothing', async () => {
    expect(await enrolFromConfig(file, dataDir, silentLogger, record)).toBe('no-file');
    expect(calls).toEqual([]);
  });

  it('enrols with the secret from a 0600 file, then deletes it', async () => {
    await writeFile(file, 'SERVER=http://127.0.0.1:1\nENROL_SECRET=s3cret\n', { mode: 0o600 });
    expect(await enrolFromConfig(file, dataDir, silentLogger, record)).toBe('enrolled');
    expect(calls.map((c) => [c.server, c.secret, c.code])).toEqual([
      ['http://127.0.0.1:1', 's3cret', undefined],
    ]);
    await expect(readFile(file)).rejects.toThrow(/ENOENT/);
  });

  it('keeps the file when enrolment fails (the service retries)', async () => {
    await writeFile(file, 'SERVER=http://127.0.0.1:1\nENROL_SECRET=s3cret\n', { mode: 0o600 });
    const failing = async () => {
      throw new Error('collector unreachable');
    };
    await expect(enrolFromConfig(file, dataDir, silentLogger, failing)).rejects.toThrow(/unreachable/);
    expect(await readFile(file, 'utf8')).toContain('s3cret');
  });

  it('refuses a file others can read or write, and a symlink', async () => {
    await writeFile(file, 'SERVER=http://evil\nENROL_SECRET=x\n', { mode: 0o600 });
    await chmod(file, 0o644);
    await expect(enrolFromConfig(file, dataDir, silentLogger, record)).rejects.toThrow(/mode 0600/);
    const target = join(dir, 'target.conf');
    await writeFile(target, 'SERVER=http://evil\nENROL_SECRET=x\n', { mode: 0o600 });
    await rm(file);
    await symlink(target, file);
    await expect(enrolFromConfig(file, dataDir, silentLogger, record)).rejects.toThrow(/regular file/);
    expect(calls).toEqual([]);
  });

  it('already enrolled: removes the file unread and keeps the enrolment', async () => {
    await saveCredentials(dataDir, {
      deviceId: 'dev-1',
      deviceKey: 'k'.repeat(43),
      serverUrl: 'http://127.0.0.1:1',
      enrolledAt: new Date(0).toISOString(),
      kind: 'secret',
    });
    await writeFile(file, 'SERVER=http://other\nENROL_SECRET=x\n', { mode: 0o600 });
    expect(await enrolFromConfig(file, dataDir, silentLogger, record)).toBe('already-enrolled');
    expect(calls).toEqual([]);
    await expect(readFile(file)).rejects.toThrow(/ENOENT/);
  });
});
