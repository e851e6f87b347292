// Issue 10 item 2 from outside: a real collector process, a real agent process on the victim's
// identity, an attacker speaking plain HTTP with a BYOD code and the victim's machine id, and the
// real agent CLI re-enrolling a reinstalled laptop (old key lost → queued → approved by IT → the
// waiting service completes the enrolment by itself) and a device that still has its key (proof).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, agentCli, enrolAgent, startAgent } from '../support/agent-process.ts';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { waitFor } from '../support/wait-for.ts';
import { createStaff, type Json, staffSession } from './console-helpers.ts';

let collector: CollectorProcess;
const agents: AgentProcess[] = [];
const dirs: string[] = [];
const machineId = randomBytes(16).toString('hex');
let victim: { dataDir: string; deviceId: string };
let it1: Awaited<ReturnType<typeof staffSession>>;

const admin = async (
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Json }> => {
  const res = await fetch(`${collector.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${collector.adminToken}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
};
const device = async (id: string) => (await admin('GET', `/devices/${id}`)).json.device;
const agentEnv = { CUSTODIAN_AGENT_MACHINE_ID: machineId, CUSTODIAN_AGENT_CLAIM_INTERVAL_MS: '300' };

beforeAll(async () => {
  collector = await startCollector();
  const enrolled = await enrolAgent({ collector, env: { ...process.env, ...agentEnv } });
  dirs.push(enrolled.dataDir);
  victim = enrolled;
  agents.push(await startAgent({ dataDir: victim.dataDir, args: ['--demo'], env: agentEnv }));
  await waitFor(async () => (await device(victim.deviceId)).status.connected, 'victim agent connected');
  it1 = await staffSession(collector, await createStaff(collector, 'it-replace', 'it'));
});

afterAll(async () => {
  for (const a of agents) await a.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  await collector?.cleanup();
});

describe('re-enrolment of a live device (real collector, real agent)', () => {
  it('attack: a BYOD code + the victim machine id leaves the victim connected and unrevoked', async () => {
    const code = await admin('POST', '/enrol/codes', { ttlHours: 1 });
    const agreement = (await admin('GET', '/agreement')).json;
    const attack = await fetch(`${collector.url}/api/v1/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        code: code.json.code,
        // What the agent sends: SHA-256 of the OS machine id, which any local user can read.
        machineId: createHash('sha256').update(machineId).digest('hex'),
        hostname: 'attacker-box',
        os: 'linux',
        serial: '',
        userName: 'Mallory',
        acceptAgreement: true,
        agreementVersion: agreement.version,
        agreementSha256: agreement.sha256,
      }),
    });
    expect(attack.status).toBe(202);
    const pending = (await attack.json()) as Json;
    expect(pending).toMatchObject({ status: 'pending', replaces: { deviceId: victim.deviceId } });
    // The victim's session still carries traffic after the attack: a policy pushed to it now is
    // applied and reported back by the real agent over that session.
    const version = (
      await admin('PUT', `/devices/${victim.deviceId}/policy`, {
        policy: { heartbeatSeconds: 45 },
        reason: 'e2e: prove the session is alive',
      })
    ).json.effective.version as number;
    await waitFor(
      async () => (await device(victim.deviceId)).status.policyVersionApplied === version,
      'victim applied the policy pushed after the attack',
    );
    const v = await device(victim.deviceId);
    expect(v.revoked).toBe(false);
    expect(v.status.connected).toBe(true);
    expect(v.cloneSuspicion.at(-1).reason).toContain(`replacement requested (${pending.requestId})`);
    expect(agents[0]!.logs()).not.toMatch(/revoked/);
    // IT sees the request in the queue and denies it; the audit has both.
    const queue = await it1('GET', '/enrol/replacements?state=pending');
    expect(queue.data.replacements.map((r: Json) => r.id)).toContain(pending.requestId);
    const deny = await it1('POST', `/enrol/replacements/${pending.requestId}/deny`, { reason: 'not ours' });
    expect(deny.status).toBe(200);
    const audit = (await admin('GET', `/audit?target=device:${victim.deviceId}`)).json.records as Json[];
    expect(audit.map((r) => r.action)).toEqual(
      expect.arrayContaining(['device.replacement.request', 'device.replacement.deny']),
    );
    expect(audit.find((r) => r.action === 'device.replacement.deny').actor).toBe('it-replace');
  });

  it('a denied re-enrolment: running enrol again reports that IT denied it and why, and forgets the request', async () => {
    const dataDir = join(await mkdtemp(join(tmpdir(), 'custodian-denied-')), 'data');
    dirs.push(join(dataDir, '..'));
    const env = { ...process.env, ...agentEnv, CUSTODIAN_ENROL_SECRET: collector.enrolSecret };
    const run = () =>
      agentCli(['enrol', '--server', collector.url, '--data-dir', dataDir], { env }).then(
        (ok) => ({ ...ok, exitCode: 0 }),
        (err: { stdout: string; stderr: string; exitCode: number }) => err,
      );
    const first = await run();
    expect(first.exitCode).toBe(4);
    const requestId = /request (r_[A-Za-z0-9_-]+)/.exec(first.stdout)?.[1] as string;
    expect(requestId).toBeDefined();
    const stillPending = await run();
    expect(stillPending.exitCode).toBe(4);
    expect(stillPending.stdout).toContain(`request ${requestId}`);
    expect(
      (await it1('POST', `/enrol/replacements/${requestId}/deny`, { reason: 'not a reinstall we did' }))
        .status,
    ).toBe(200);
    const denied = await run();
    expect(denied.exitCode).toBe(1);
    expect(denied.stderr).toContain('denied by IT: not a reinstall we did');
    expect(denied.stderr).not.toContain('it-replace');
    expect(denied.stderr).toContain('CUST_ERR_ENROL_DENIED');
    await expect(stat(join(dataDir, 'pending-enrolment.json'))).rejects.toThrow(/ENOENT/);
    await expect(stat(join(dataDir, 'credentials.json'))).rejects.toThrow(/ENOENT/);
    expect((await device(victim.deviceId)).revoked).toBe(false);
  });

  it('reinstalled laptop (key lost): enrol says approval is pending; IT approves; the waiting service enrols', async () => {
    const dataDir = join(await mkdtemp(join(tmpdir(), 'custodian-reinstall-')), 'data');
    dirs.push(join(dataDir, '..'));
    const env = { ...process.env, ...agentEnv, CUSTODIAN_ENROL_SECRET: collector.enrolSecret };
    const first = await agentCli(['enrol', '--server', collector.url, '--data-dir', dataDir], { env }).then(
      () => {
        throw new Error('enrol should wait for approval');
      },
      (err: { stdout: string; exitCode: number }) => err,
    );
    expect(first.exitCode).toBe(4);
    expect(first.stdout).toContain('Enrolment is waiting for approval');
    expect(first.stdout).toContain(`already enrolled as device ${victim.deviceId}`);
    await expect(stat(join(dataDir, 'credentials.json'))).rejects.toThrow(/ENOENT/);
    const st = JSON.parse(
      (await agentCli(['status', '--json', '--data-dir', dataDir], { env }).catch((e) => e)).stdout,
    );
    expect(st.enrolled).toBe(false);
    const requestId = st.pendingApproval.requestId as string;
    expect(requestId).toMatch(/^r_/);

    // The service starts before the approval and waits; nothing happens to the old device yet.
    const started = startAgent({ dataDir, args: ['--demo'], env: agentEnv });
    started.then((a) => agents.push(a)).catch(() => undefined);
    expect((await device(victim.deviceId)).revoked).toBe(false);

    const approve = await it1('POST', `/enrol/replacements/${requestId}/approve`, {
      reason: 'reinstalled, ticket 77',
    });
    expect(approve.status).toBe(200);
    const newId = approve.data.replacement.newDeviceId as string;
    const replacement = await started;
    await waitFor(async () => (await device(newId)).status.connected, 'replacement agent connected');
    // The old agent is told it was revoked and stops reconnecting.
    await agents[0]!.waitForLog(/revoked by the collector; not reconnecting/);
    const old = await device(victim.deviceId);
    expect(old).toMatchObject({ revoked: true, replacedBy: newId });
    const fresh = await device(newId);
    expect(fresh).toMatchObject({
      replaces: victim.deviceId,
      replacement: { how: 'approval', approvedBy: 'it-replace' },
    });
    expect(fresh.cloneSuspicion[0].reason).toContain('replaced on approval by it-replace');
    const status = JSON.parse((await agentCli(['status', '--json', '--data-dir', dataDir], { env })).stdout);
    expect(status).toMatchObject({ enrolled: true, deviceId: newId });
    const audit = (await admin('GET', '/audit?action=device.replacement.approve')).json.records as Json[];
    expect(audit[0]).toMatchObject({ actor: 'it-replace', target: `device:${victim.deviceId}` });
    victim = { dataDir, deviceId: newId };
    await replacement.stop();
  });

  it('a device that still has its key re-enrols at once with --replace (proof), and the old key stops working', async () => {
    const env = { ...process.env, ...agentEnv, CUSTODIAN_ENROL_SECRET: collector.enrolSecret };
    const before = victim.deviceId;
    const out = await agentCli(
      ['enrol', '--replace', '--server', collector.url, '--data-dir', victim.dataDir],
      { env },
    );
    const st = JSON.parse(
      (await agentCli(['status', '--json', '--data-dir', victim.dataDir], { env })).stdout,
    );
    expect(out.stdout).toContain(`Enrolled as device ${st.deviceId}`);
    expect(st.deviceId).not.toBe(before);
    expect(await device(st.deviceId)).toMatchObject({ replaces: before, replacement: { how: 'proof' } });
    expect((await device(before)).revoked).toBe(true);
    const audit = (await admin('GET', `/audit?action=device.replace&target=device:${before}`)).json.records;
    expect(audit).toHaveLength(1);
  });
});
