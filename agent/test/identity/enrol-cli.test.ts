// `custodian-agent enrol` as a real process against a real collector process on 127.0.0.1:
// school devices with the secret, BYOD devices with a one-time code and the agreement, each
// checked on the collector's side through its admin API.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AgentClient, heartbeat, newStreamId } from '../../../collector/test/helpers/agent-client.ts';
import { AGENT_BIN, agentCli } from '../../../test/support/agent-process.ts';
import { type CollectorProcess, startCollector } from '../../../test/support/collector-process.ts';
import { waitUntil } from '../support/wait.ts';

let collector: CollectorProcess;
let dir: string;
let ENROL_SECRET: string;
const env = () => ({ ...process.env, CUSTODIAN_AGENT_MACHINE_ID: randomBytes(16).toString('hex') });

// biome-ignore lint/suspicious/noExplicitAny: tests read API JSON fields directly
async function admin(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${collector.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${collector.adminToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${await res.text()}`);
  return res.json();
}
const devices = async () => (await admin('GET', '/devices')).devices as Record<string, unknown>[];
const agreementText = async () =>
  (await (await fetch(`${collector.url}/api/v1/agreement`)).json()) as {
    version: string;
    text: string;
    sha256: string;
  };
const newCode = async () => (await admin('POST', '/enrol/codes', { ttlHours: 1 })).code as string;

beforeAll(async () => {
  collector = await startCollector();
  ENROL_SECRET = collector.enrolSecret;
});
afterAll(async () => {
  await collector?.cleanup();
});
beforeEach(async () => {
  dir = join(await mkdtemp(join(tmpdir(), 'enrol-')), 'data');
});
afterEach(async () => {
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
    const { device } = await admin('GET', `/devices/${creds.deviceId}`);
    expect(device).toMatchObject({ id: creds.deviceId, kind: 'school', revoked: false });
    expect(JSON.stringify(device)).not.toContain(creds.deviceKey);
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
    const code = await newCode();
    const args = [
      'enrol',
      '--server',
      collector.url,
      '--code',
      code,
      '--name',
      'Sam Pupil',
      '--data-dir',
      dir,
    ];
    const before = (await devices()).length;
    const refused = await failure(agentCli(args, { env: env(), input: 'no\n' }));
    expect(refused.stderr).toMatch(/CUST_ERR_AGREEMENT_NOT_ACCEPTED/);
    expect(await devices()).toHaveLength(before);
    const { stdout } = await agentCli(args, { env: env(), input: 'yes\n' });
    const agreement = await agreementText();
    expect(stdout).toContain(agreement.text);
    const creds = JSON.parse(await readFile(join(dir, 'credentials.json'), 'utf8'));
    const { device } = await admin('GET', `/devices/${creds.deviceId}`);
    expect(device).toMatchObject({
      kind: 'byod',
      byod: { userName: 'Sam Pupil', agreementVersion: agreement.version, agreementSha256: agreement.sha256 },
    });
  });

  it('BYOD: --accept-agreement accepts without a prompt (the text is still shown); a code works once', async () => {
    const code = await newCode();
    const args = (d: string) => [
      'enrol',
      '--server',
      collector.url,
      '--code',
      code,
      '--name',
      'Sam',
      '--accept-agreement',
      '--data-dir',
      d,
    ];
    const { stdout } = await agentCli(args(dir), { env: env() });
    const agreement = await agreementText();
    expect(stdout).toContain(agreement.text);
    const creds = JSON.parse(await readFile(join(dir, 'credentials.json'), 'utf8'));
    expect(creds).toMatchObject({ kind: 'byod' });
    const { device } = await admin('GET', `/devices/${creds.deviceId}`);
    expect(device).toMatchObject({
      kind: 'byod',
      byod: { userName: 'Sam', agreementVersion: agreement.version },
    });
    const again = await failure(agentCli(args(join(dir, '..', 'second')), { env: env() }));
    expect(again.stderr).toMatch(/CUST_ERR_BAD_ENROL_CODE/);
  });

  it('BYOD: a wrong code is refused with its code and nothing is stored', async () => {
    const err = await failure(
      agentCli(
        [
          'enrol',
          '--server',
          collector.url,
          '--code',
          'ABCD-EFGH-JKLM',
          '--name',
          'Sam',
          '--accept-agreement',
          '--data-dir',
          dir,
        ],
        { env: env() },
      ),
    );
    expect(err.stderr).toMatch(/CUST_ERR_BAD_ENROL_CODE/);
    await expect(stat(join(dir, 'credentials.json'))).rejects.toThrow(/ENOENT/);
  });

  it('an enrolment killed before it saved the answer gets the same device when run again (issue 21)', async () => {
    // The state a kill -9 leaves between the collector's commit and the agent saving the answer:
    // the attempt file is on disk, no credentials. Made here by hand (the enrol-crash soak
    // campaign makes it with real kills at random moments).
    const machine = env();
    const args = ['enrol', '--server', collector.url, '--secret', ENROL_SECRET, '--data-dir', dir];
    const attempt = { id: randomBytes(32).toString('base64url'), server: collector.url, replacing: null };
    const before = (await devices()).length;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(join(dir, 'enrol-attempt.json'), JSON.stringify(attempt), { mode: 0o600 });
    await agentCli(args, { env: machine });
    const first = JSON.parse(await readFile(join(dir, 'credentials.json'), 'utf8'));
    await expect(stat(join(dir, 'enrol-attempt.json'))).rejects.toThrow(/ENOENT/);
    await rm(join(dir, 'credentials.json'));
    await writeFile(join(dir, 'enrol-attempt.json'), JSON.stringify(attempt), { mode: 0o600 });
    await agentCli(args, { env: machine });
    const second = JSON.parse(await readFile(join(dir, 'credentials.json'), 'utf8'));
    expect(second.deviceId).toBe(first.deviceId);
    expect(second.deviceKey).not.toBe(first.deviceKey);
    // One device more than before, not two.
    expect((await devices()).length).toBe(before + 1);
    const pending = (await admin('GET', '/enrol/replacements?state=pending')).replacements as unknown[];
    expect(JSON.stringify(pending)).not.toContain(first.deviceId);
    // The key it saved is the device's key now.
    const c = new AgentClient(collector.wsUrl);
    const stream = newStreamId();
    await c.hello(second.deviceId, second.deviceKey, stream);
    expect(Number((await c.batch(stream, [heartbeat(1)])).seq)).toBe(1);
    c.close();
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
    const other = await startCollector();
    try {
      const err = await failure(
        agentCli(['enrol', '--replace', '--server', other.url, '--secret', ENROL_SECRET, '--data-dir', dir], {
          env: e,
        }),
      );
      expect(err.stderr).toMatch(/--replace proves this identity to the collector it is enrolled with/);
      expect(err.stderr).toMatch(/CUST_ERR_INVALID_INPUT/);
      const res = await fetch(`${other.url}/api/v1/devices`, {
        headers: { authorization: `Bearer ${other.adminToken}` },
      });
      expect(((await res.json()) as { devices: unknown[] }).devices).toEqual([]);
    } finally {
      await other.stop();
    }
  });

  it('an unreachable collector is a clear error', async () => {
    // A port that was just free: nothing listens on it.
    const { createServer } = await import('node:net');
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const err = await failure(
      agentCli(['enrol', '--server', `http://127.0.0.1:${port}`, '--secret', 'x', '--data-dir', dir], {
        env: env(),
      }),
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
