import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, isCustodianError } from '@custodian/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import { defaultConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('createApp', () => {
  it('releases the store when start-up fails, so a corrected retry in the same process works', async () => {
    const root = mkdtempSync(join(tmpdir(), 'custodian-app-'));
    dirs.push(root);
    const config = { ...defaultConfig(join(root, 'data')), port: 0, screenshotKeyFile: join(root, 'key') };
    const log = createLogger('silent');
    const err = await createApp({ config, log, env: { CUSTODIAN_ENROL_SECRET: 'short' } }).catch(
      (e: unknown) => e,
    );
    expect(isCustodianError(err, ErrorCode.INVALID_CONFIG)).toBe(true);
    const app = await createApp({ config, log, env: {} });
    try {
      expect(app.credentials.enrolSecret).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    } finally {
      await app.stop();
    }
  });
});
