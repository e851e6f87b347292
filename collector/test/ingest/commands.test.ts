// Staff commands to a connected agent and the results it reports, over real HTTP and a real
// `ws` agent client against an in-process collector: sent only to an online device, audited
// both ways, the result kept in the device's live status; an agent's rejected policy shows there too.
import { v1 } from '@custodian/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS_KEPT } from '../../src/ingest/commands.ts';
import { heartbeat } from '../helpers/agent-client.ts';
import { connectedDevice, type Harness, startHarness } from '../helpers/harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const auditOf = async (deviceId: string, action: string) =>
  (await h.app.store.audit.list({ target: `device:${deviceId}`, action })).records;

async function until<T>(check: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('device commands', () => {
  it('sends LOCK_NOW to the connected agent, audits it, and records the result it reports', async () => {
    const { dev, client } = await connectedDevice(h);
    const res = await h.api('POST', `/api/v1/devices/${dev.deviceId}/commands`, {
      kind: 'LOCK_NOW',
      reason: 'pupil walked away',
    });
    expect(res.status).toBe(202);
    const sent = res.json.command;
    expect(sent).toMatchObject({ kind: 'LOCK_NOW', requestedBy: 'admin-token', reason: 'pupil walked away' });
    const cmd = (await client.next('command')).command!;
    expect(cmd).toMatchObject({ commandId: sent.id, kind: v1.Command.Kind.LOCK_NOW });
    const [audited] = await auditOf(dev.deviceId, 'device.command');
    expect(audited).toMatchObject({
      actor: 'admin-token',
      details: { commandId: sent.id, kind: 'LOCK_NOW', reason: 'pupil walked away' },
    });
    expect(h.app.status.get(dev.deviceId).commands).toEqual([sent]);

    client.send({ commandResult: { commandId: sent.id, ok: false, error: 'i3lock exited 1' } });
    const result = await until(() => h.app.status.get(dev.deviceId).commands?.[0]?.result, 'result');
    expect(result).toMatchObject({ ok: false, error: 'i3lock exited 1' });
    const viaApi = await h.api('GET', `/api/v1/devices/${dev.deviceId}`);
    expect(viaApi.json.device.status.commands[0]).toMatchObject({
      id: sent.id,
      kind: 'LOCK_NOW',
      result: { ok: false, error: 'i3lock exited 1' },
    });
    const [resultAudit] = await auditOf(dev.deviceId, 'device.command-result');
    expect(resultAudit).toMatchObject({
      actor: `device:${dev.deviceId}`,
      details: { commandId: sent.id, kind: 'LOCK_NOW', ok: false, error: 'i3lock exited 1' },
    });
    client.close();
  });

  it('keeps the commands in the persisted status snapshot, also after later event batches', async () => {
    const { dev, client, stream } = await connectedDevice(h);
    await client.batch(stream, [heartbeat(1)]);
    const res = await h.api('POST', `/api/v1/devices/${dev.deviceId}/commands`, { kind: 'LOCK_NOW' });
    const id = res.json.command.id;
    await client.next('command');
    client.send({ commandResult: { commandId: id, ok: true, error: '' } });
    await until(() => h.app.status.get(dev.deviceId).commands?.[0]?.result, 'result');
    await client.batch(stream, [heartbeat(2)]);
    const persisted = await h.app.store.status.get(dev.deviceId);
    expect(persisted?.commands).toEqual([
      expect.objectContaining({ id, result: expect.objectContaining({ ok: true }) }),
    ]);
    client.close();
  });

  it('refuses an offline device with CUST_ERR_DEVICE_OFFLINE and writes no command record', async () => {
    const dev = await h.enrol();
    const res = await h.api('POST', `/api/v1/devices/${dev.deviceId}/commands`, { kind: 'RESCAN_USB' });
    expect(res.status).toBe(409);
    expect(res.json.error.code).toBe('CUST_ERR_DEVICE_OFFLINE');
    expect(await auditOf(dev.deviceId, 'device.command')).toEqual([]);
    expect(h.app.status.get(dev.deviceId).commands).toBeUndefined();
  });

  it('checks the kind and the reason, and 404s an unknown device', async () => {
    const { dev, client } = await connectedDevice(h);
    const bad = await h.api('POST', `/api/v1/devices/${dev.deviceId}/commands`, { kind: 'WIPE' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('CUST_ERR_INVALID_INPUT');
    const long = await h.api('POST', `/api/v1/devices/${dev.deviceId}/commands`, {
      kind: 'LOCK_NOW',
      reason: 'x'.repeat(201),
    });
    expect(long.status).toBe(400);
    const missing = await h.api('POST', '/api/v1/devices/no-such-device/commands', { kind: 'LOCK_NOW' });
    expect(missing.status).toBe(404);
    expect(client.has('command')).toBe(false);
    client.close();
  });

  it('ignores a result for a command it never sent, and keeps the last few commands', async () => {
    const { dev, client } = await connectedDevice(h);
    for (let i = 0; i < COMMANDS_KEPT + 2; i++) {
      const res = await h.api('POST', `/api/v1/devices/${dev.deviceId}/commands`, {
        kind: 'REFRESH_INVENTORY',
      });
      expect(res.status).toBe(202);
    }
    const kept = h.app.status.get(dev.deviceId).commands ?? [];
    expect(kept).toHaveLength(COMMANDS_KEPT);
    client.send({ commandResult: { commandId: 'invented-by-the-device', ok: true, error: '' } });
    const last = kept.at(-1)!;
    client.send({ commandResult: { commandId: last.id, ok: true, error: '' } });
    await until(() => h.app.status.get(dev.deviceId).commands?.at(-1)?.result, 'result of the last command');
    const after = h.app.status.get(dev.deviceId).commands ?? [];
    expect(after.filter((c) => c.result)).toHaveLength(1);
    expect(after.map((c) => c.id)).toEqual(kept.map((c) => c.id));
    expect(await auditOf(dev.deviceId, 'device.command-result')).toHaveLength(1);
    client.close();
  });

  it('shows a policy the agent rejected in its live status, and clears it once one applies', async () => {
    const { dev, client, stream } = await connectedDevice(h);
    client.send({
      policyApplied: { version: 41, ok: false, error: 'invalid policy: windowSampleMs too small' },
    });
    const rejected = await until(() => h.app.status.get(dev.deviceId).policyRejected, 'policyRejected');
    expect(rejected).toMatchObject({ version: 41, error: 'invalid policy: windowSampleMs too small' });
    // The same report as a timeline event (what the agent also stores in its outbox).
    await client.batch(stream, [
      { seq: 1, timeMs: Date.now(), policyApplied: { version: 42, ok: false, error: 'second refusal' } },
    ]);
    const tl = await h.api('GET', `/api/v1/devices/${dev.deviceId}/timeline?kinds=policyApplied`);
    // JSON leaves out proto3 defaults: ok=false is an absent `ok`.
    expect(tl.json.events.map((e: { event: { policyApplied: unknown } }) => e.event.policyApplied)).toEqual([
      { version: 42, error: 'second refusal' },
    ]);
    const viaApi = await h.api('GET', `/api/v1/devices/${dev.deviceId}`);
    expect(viaApi.json.device.status.policyRejected).toMatchObject({ version: 42, error: 'second refusal' });
    client.send({ policyApplied: { version: 43, ok: true, error: '' } });
    await until(
      () => (h.app.status.get(dev.deviceId).policyVersionApplied === 43 ? true : undefined),
      'policy 43 applied',
    );
    expect(h.app.status.get(dev.deviceId).policyRejected).toBeUndefined();
    client.close();
  });
});
