// `custodian-agent enrol` as a real process against a real HTTP server on 127.0.0.1.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AGENT_BIN, agentCli } from '../../../test/support/agent-process.ts';
import { AGREEMENT, ENROL_SECRET, FakeCollector } from '../support/fake-collector.ts';
import { waitUntil } from '../support/wait.ts';

let collector: FakeCollector;
let dir: string;
const env = () => ({ ...process.env, CUSTODIAN_AGENT_MACHINE_ID: randomBytes(16).toString('hex') });

beforeEach(async () => {
  collector = new FakeCollector();
  await collector.start();
  dir = join(await mkdtemp(join(tmpdir(), 'enrol-')), 'data');
});
afterEach(async () => {
  await collector.stop();
  await rm(join(dir, '..'), { recursive: true, force: true });
});

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the command to fail');
    },
    (err: Error & { stderr: string; exitCode: number }) => err,
  );

describe('custodian-agent enrol', () => {
  it('enrols a school device with the secret; credentials are owner-only and the key is not printed', async () => {
    const { stdout, stderr } = await agentCli(
      ['enrol', '--server', collector.url, '--secret', ENROL_SECRET, '--data-dir', dir],
      {
        env: env(),
      },
    );
    const creds = JSON.parse(await readFile(join(dir, 'credentials.json'), 'utf8'));
    expect(creds).toMatchObject({ serverUrl: collector.url, kind: 'secret' });
    expect(collector.devices.get(creds.deviceId)?.deviceKey).toBe(creds.deviceKey);
    expect((await stat(join(dir, 'credentials.json'))).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(stdout + stderr).not.toContain(creds.deviceKey);
    expect(stdout).toContain(creds.deviceId);
  });

  it('takes the secret from CUSTODIAN_ENROL_SECRET; a wrong secret is refused and nothing is stored', async () => {
    const err = await failure(
      agentCli(['enrol', '--server', collector.url, '--data-dir', dir], {
        env: { ...env(), CUSTODIAN_ENROL_SECRET: 'wrong' },
      }),
    );
    expect(err.stderr).toMatch(/CUST_ERR_BAD_ENROL_SECRET/);
    await expect(stat(join(dir, 'credentials.json'))).rejects.toThrow(/ENOENT/);
    await agentCli(['enrol', '--server', collector.url, '--data-dir', dir], {
      env: { ...env(), CUSTODIAN_ENROL_SECRET: ENROL_SECRET },
    });
    await stat(join(dir, 'credentials.json'));
  });

  it('BYOD: shows the agreement and enrols only after a typed "yes"', async () => {
    const args = [
      'enrol',
      '--server',
      collector.url,
      '--code',
      'BYOD-CODE',
      '--name',
      'Sam Pupil',
      '--data-dir',
      dir,
    ];
    const refused = await failure(agentCli(args, { env: env(), input: 'no\n' }));
    expect(refused.stderr).toMatch(/CUST_ERR_AGREEMENT_NOT_ACCEPTED/);
    expect(collector.devices.size).toBe(0);
    const { stdout } = await agentCli(args, { env: env(), input: 'yes\n' });
    expect(stdout).toContain(AGREEMENT.text);
    const device = [...collector.devices.values()][0]!;
    expect(device).toMatchObject({ userName: 'Sam Pupil', agreementVersion: AGREEMENT.version });
  });

  it('BYOD: --accept-agreement accepts without a prompt (the text is still shown)', async () => {
    const { stdout } = await agentCli(
      [
        'enrol',
        '--server',
        collector.url,
        '--code',
        'BYOD-CODE',
        '--name',
        'Sam',
        '--accept-agreement',
        '--data-dir',
        dir,
      ],
      { env: env() },
    );
    expect(stdout).toContain(AGREEMENT.text);
    expect(collector.devices.size).toBe(1);
  });

  it('refuses to enrol twice, and unenrol forgets the device', async () => {
    const args = ['enrol', '--server', collector.url, '--secret', ENROL_SECRET, '--data-dir', dir];
    await agentCli(args, { env: env() });
    const again = await failure(agentCli(args, { env: env() }));
    expect(again.stderr).toMatch(/already enrolled/);
    await agentCli(['unenrol', '--data-dir', dir]);
    await expect(stat(join(dir, 'credentials.json'))).rejects.toThrow(/ENOENT/);
    const status = await failure(agentCli(['status', '--data-dir', dir]));
    expect(status.exitCode).toBe(3);
  });

  it('--replace never sends the current key to another collector than the one that issued it', async () => {
    const e = env();
    await agentCli(['enrol', '--server', collector.url, '--secret', ENROL_SECRET, '--data-dir', dir], {
      env: e,
    });
    const other = new FakeCollector();
    await other.start();
    try {
      const err = await failure(
        agentCli(['enrol', '--replace', '--server', other.url, '--secret', ENROL_SECRET, '--data-dir', dir], {
          env: e,
        }),
      );
      expect(err.stderr).toMatch(/--replace proves this identity to the collector it is enrolled with/);
      expect(err.stderr).toMatch(/CUST_ERR_INVALID_INPUT/);
      expect(other.devices.size).toBe(0);
    } finally {
      await other.stop();
    }
  });

  it('an unreachable collector is a clear error', async () => {
    await collector.stop();
    const err = await failure(
      agentCli(['enrol', '--server', collector.url, '--secret', 'x', '--data-dir', dir], { env: env() }),
    );
    expect(err.stderr).toMatch(/cannot reach the collector.*CUST_ERR_UNAVAILABLE/);
  });

  it('a service started before enrolment waits for it instead of crash-looping', async () => {
    const child = spawn(process.execPath, [AGENT_BIN, 'run', '--data-dir', dir], {
      env: { ...env(), DISPLAY: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    try {
      await waitUntil(() => err.includes('not enrolled yet; waiting'), 'waiting log line');
      expect(child.exitCode).toBeNull();
      await agentCli(['enrol', '--server', collector.url, '--secret', ENROL_SECRET, '--data-dir', dir], {
        env: env(),
      });
      await waitUntil(() => err.includes('"msg":"agent started"'), 'agent started after enrolment', 20_000);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('usage errors exit 2 with the usage text', async () => {
    const err = await failure(agentCli(['frobnicate']));
    expect(err.exitCode).toBe(2);
    expect(err.stderr).toMatch(/Usage: custodian-agent/);
  });
});
