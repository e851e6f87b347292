// Tenancy item 1 (issue 20), policies: trust default -> school -> group -> device over plain HTTP
// against a real collector, with foreign `ws` clients speaking the .proto as agents. Groups,
// inheritance and "which layer set this", refusals naming the layer or device below, a change log
// per layer, pushes only to the devices a layer covers, and school scope replayed as an attacker.
//
// A second school: the schools registry is another engineer's this stop, so the test wires
// `groups.schoolExists` as the integrator will, puts devices in it by setting Device.schoolId in the
// store, and gives a staff account its school list directly in the `users` namespace (no route
// sets it yet); sessions carry it (staff-auth.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthModule } from '../../src/auth/index.ts';
import type { UserRecord } from '../../src/auth/users.ts';
import { type Client, createStaffClient, TEST_SCRYPT } from '../auth/harness.ts';
import { AgentClient, newStreamId } from '../helpers/agent-client.ts';
import { type Harness, startHarness } from '../helpers/harness.ts';

let h: Harness;
let northAdmin: Client;
let it_: Client;
const SCHOOLS = ['default', 'north'];

async function inSchool(deviceId: string, schoolId: string) {
  await h.app.store.devices.update(deviceId, (d) => ({ ...d, schoolId }));
}

async function scopeUser(username: string, schools: string[]) {
  const users = h.app.store.kv<UserRecord>('users');
  const entry = (await users.list()).find((u) => u.value.username === username);
  if (!entry) throw new Error(`no user ${username}`);
  await users.put(entry.key, { ...entry.value, schools });
}

async function connect(deviceId: string, deviceKey: string) {
  const client = new AgentClient(h.wsUrl);
  const hello = await client.hello(deviceId, deviceKey, newStreamId());
  return { client, version: Number(hello.policy.version) };
}

const put = (path: string, body: unknown) => h.api('PUT', path, body);

beforeAll(async () => {
  h = await startHarness({ modules: [createAuthModule({ scrypt: TEST_SCRYPT })] });
  h.app.groups.schoolExists = async (id) => SCHOOLS.includes(id);
  northAdmin = await createStaffClient(h.url, h.adminToken, 'north.admin', 'admin');
  await scopeUser('north.admin', ['north']);
  it_ = await createStaffClient(h.url, h.adminToken, 'trust.it', 'it');
}, 60_000);
afterAll(async () => {
  await h?.close();
});

describe('device groups', () => {
  it('creates, renames and lists groups in an existing school; refuses an unknown school', async () => {
    const made = await h.api('POST', '/api/v1/groups', { id: 'year-7', schoolId: 'default', name: 'Year 7' });
    expect(made.status).toBe(200);
    expect(made.json.group).toMatchObject({ id: 'year-7', schoolId: 'default', name: 'Year 7' });
    expect(
      (await h.api('POST', '/api/v1/groups', { id: 'year-7', schoolId: 'default', name: 'x' })).status,
    ).toBe(409);
    const nowhere = await h.api('POST', '/api/v1/groups', { schoolId: 'south', name: 'Year 7' });
    expect(nowhere.status).toBe(404);
    const renamed = await h.api('PATCH', '/api/v1/groups/year-7', { name: 'Year 7 (2026)' });
    expect(renamed.json.group.name).toBe('Year 7 (2026)');
    const list = await h.api('GET', '/api/v1/groups?schoolId=default');
    expect(list.json.groups.map((g: { id: string }) => g.id)).toContain('year-7');
    const audit = await h.api('GET', '/api/v1/audit?target=group:year-7');
    expect(audit.json.records.map((r: { action: string }) => r.action).sort()).toEqual([
      'group.created',
      'group.renamed',
    ]);
  });

  it('moves a device only into a group of its own school, and refuses to delete a group in use', async () => {
    await h.api('POST', '/api/v1/groups', { id: 'north-staff', schoolId: 'north', name: 'Staff laptops' });
    const dev = await h.enrol();
    const cross = await put(`/api/v1/devices/${dev.deviceId}/group`, {
      groupId: 'north-staff',
      reason: 'try',
    });
    expect(cross.status).toBe(409);
    const moved = await put(`/api/v1/devices/${dev.deviceId}/group`, {
      groupId: 'year-7',
      reason: 'new pupil',
    });
    expect(moved.status).toBe(200);
    expect((await h.app.store.devices.get(dev.deviceId))?.groupId).toBe('year-7');

    const busy = await h.api('DELETE', '/api/v1/groups/year-7', { reason: 'tidy' });
    expect(busy.status).toBe(409);
    expect(busy.json.error.message).toContain('1 device');
    expect(
      (await put(`/api/v1/devices/${dev.deviceId}/group`, { groupId: null, reason: 'left' })).status,
    ).toBe(200);
    expect((await h.app.store.devices.get(dev.deviceId))?.groupId).toBeUndefined();

    // A revoked device does not keep a group alive.
    await h.api('POST', '/api/v1/groups', { id: 'leavers', schoolId: 'default', name: 'Leavers' });
    const gone = await h.enrol();
    await put(`/api/v1/devices/${gone.deviceId}/group`, { groupId: 'leavers', reason: 'leaver' });
    expect((await h.api('DELETE', '/api/v1/groups/leavers', { reason: 'tidy' })).status).toBe(409);
    const revoked = await h.api('POST', `/api/v1/devices/${gone.deviceId}/revoke`, {
      reason: 'left the school',
    });
    expect(revoked.status).toBe(200);
    expect((await h.api('DELETE', '/api/v1/groups/leavers', { reason: 'tidy' })).status).toBe(200);

    // A group with a policy layer: removing the group would silently change what it enforced.
    await h.api('POST', '/api/v1/groups', { id: 'layered', schoolId: 'default', name: 'Layered' });
    const layer = await put('/api/v1/policy/groups/layered', {
      policy: { heartbeatSeconds: 30 },
      reason: 'test',
    });
    expect(layer.status).toBe(200);
    expect((await h.api('DELETE', '/api/v1/groups/layered', { reason: 'tidy' })).status).toBe(409);
    expect((await put('/api/v1/policy/groups/layered', { policy: null, reason: 'done' })).status).toBe(200);
    expect((await h.api('DELETE', '/api/v1/groups/layered', { reason: 'tidy' })).status).toBe(200);
    expect((await h.api('GET', '/api/v1/policy/groups/layered')).status).toBe(404);
  });
});

describe('policy layers', () => {
  it('inherits trust -> school -> group -> device and says where each value comes from', async () => {
    await h.api('POST', '/api/v1/groups', { id: 'north-y9', schoolId: 'north', name: 'Year 9' });
    const dev = await h.enrol();
    await inSchool(dev.deviceId, 'north');
    expect(
      (await put(`/api/v1/devices/${dev.deviceId}/group`, { groupId: 'north-y9', reason: 'year 9' })).status,
    ).toBe(200);
    expect(
      (
        await put('/api/v1/policy/schools/north', {
          policy: { idleLock: { idleLockSeconds: 600 } },
          reason: 'a',
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await put('/api/v1/policy/groups/north-y9', {
          policy: { idleLock: { warningSeconds: 30 } },
          reason: 'b',
        })
      ).status,
    ).toBe(200);
    expect(
      (await put(`/api/v1/devices/${dev.deviceId}/policy`, { policy: { heartbeatSeconds: 45 }, reason: 'c' }))
        .status,
    ).toBe(200);

    const r = await h.api('GET', `/api/v1/devices/${dev.deviceId}/policy/layers`);
    expect(r.status).toBe(200);
    expect(r.json.layers.map((l: { kind: string; id: string }) => `${l.kind}:${l.id}`)).toEqual([
      'default:default',
      'school:north',
      'group:north-y9',
      `device:${dev.deviceId}`,
    ]);
    const field = (f: string) => r.json.fields.find((x: { field: string }) => x.field === f);
    expect(field('idleLock.idleLockSeconds')).toEqual({
      field: 'idleLock.idleLockSeconds',
      value: 600,
      layer: 'school',
      id: 'north',
    });
    expect(field('idleLock.warningSeconds')).toMatchObject({ value: 30, layer: 'group', id: 'north-y9' });
    expect(field('heartbeatSeconds')).toMatchObject({ value: 45, layer: 'device', id: dev.deviceId });
    expect(field('usb.mode')).toMatchObject({ layer: 'default' });
    // The device's own policy answer agrees with the layers answer.
    const eff = await h.api('GET', `/api/v1/devices/${dev.deviceId}/policy`);
    expect(eff.json.effective).toEqual(r.json.effective);
    expect(eff.json.effective.idleLock.idleLockSeconds).toBe(600);
    // A device of the default school does not inherit north's layer.
    const other = await h.enrol();
    expect(
      (await h.api('GET', `/api/v1/devices/${other.deviceId}/policy`)).json.effective.idleLock,
    ).toMatchObject({
      idleLockSeconds: 900,
    });
  });

  it('refuses an upper change that would make a lower layer or a device override invalid, naming it', async () => {
    await h.api('POST', '/api/v1/groups', { id: 'north-y10', schoolId: 'north', name: 'Year 10' });
    expect(
      (
        await put('/api/v1/policy/groups/north-y10', {
          policy: { idleLock: { warningSeconds: 500 } },
          reason: 'x',
        })
      ).status,
    ).toBe(200);
    // warningSeconds must stay below idleLockSeconds: 300 on the school breaks group north-y10.
    const school = await put('/api/v1/policy/schools/north', {
      policy: { idleLock: { idleLockSeconds: 300 } },
      reason: 'shorter',
    });
    expect(school.status).toBe(400);
    expect(school.json.error.code).toBe('CUST_ERR_INVALID_POLICY');
    expect(school.json.error.message).toContain('the group layer north-y10');
    // North's school layer sets a 600 s lock: a trust warning of 700 s would break it (not the
    // default itself, whose lock is 900 s).
    const trust = await put('/api/v1/policy', {
      policy: { idleLock: { warningSeconds: 700 } },
      reason: 'longer',
    });
    expect(trust.status).toBe(400);
    expect(trust.json.error.message).toContain('the school layer north');
    expect((await h.api('GET', '/api/v1/policy')).json.policy.idleLock.warningSeconds).toBe(60);
    expect((await put('/api/v1/policy/groups/north-y10', { policy: null, reason: 'undo' })).status).toBe(200);

    // A device override below a group layer.
    await h.api('POST', '/api/v1/groups', { id: 'y11', schoolId: 'default', name: 'Year 11' });
    const dev = await h.enrol();
    await put(`/api/v1/devices/${dev.deviceId}/group`, { groupId: 'y11', reason: 'y11' });
    await put(`/api/v1/devices/${dev.deviceId}/policy`, {
      policy: { idleLock: { warningSeconds: 400 } },
      reason: 'o',
    });
    const group = await put('/api/v1/policy/groups/y11', {
      policy: { idleLock: { idleLockSeconds: 300 } },
      reason: 'g',
    });
    expect(group.status).toBe(400);
    expect(group.json.error.message).toContain(`the override of device ${dev.deviceId}`);
    // Nothing was stored.
    expect((await h.api('GET', '/api/v1/policy/groups/y11')).json.layer).toBeNull();
    await put(`/api/v1/devices/${dev.deviceId}/policy`, { policy: null, reason: 'undo' });
  });

  it('takes two changes at once one after the other, so they cannot together break a chain', async () => {
    await h.api('POST', '/api/v1/groups', { id: 'race', schoolId: 'north', name: 'Race' });
    await put('/api/v1/policy/schools/north', { policy: null, reason: 'reset' });
    const dev = await h.enrol();
    await inSchool(dev.deviceId, 'north');
    await put(`/api/v1/devices/${dev.deviceId}/group`, { groupId: 'race', reason: 'race' });
    // Each is valid alone (lock 900 s by default); together the warning is longer than the lock.
    const [school, group] = await Promise.all([
      put('/api/v1/policy/schools/north', { policy: { idleLock: { idleLockSeconds: 300 } }, reason: 'a' }),
      put('/api/v1/policy/groups/race', { policy: { idleLock: { warningSeconds: 500 } }, reason: 'b' }),
    ]);
    expect([school.status, group.status].sort()).toEqual([200, 400]);
    const layers = await h.api('GET', `/api/v1/devices/${dev.deviceId}/policy/layers`);
    expect(layers.status).toBe(200);
    await put('/api/v1/policy/schools/north', {
      policy: { idleLock: { idleLockSeconds: 600 } },
      reason: 'back',
    });
    await put('/api/v1/policy/groups/race', { policy: null, reason: 'back' });
  });

  it('keeps a change log per layer and raises the version of every device a change affects', async () => {
    const dev = await h.enrol();
    const before = (await h.api('GET', `/api/v1/devices/${dev.deviceId}/policy`)).json.effective.version;
    await put('/api/v1/policy/schools/default', {
      policy: { capture: { frames: 2 } },
      reason: 'school wants 2',
    });
    const after = (await h.api('GET', `/api/v1/devices/${dev.deviceId}/policy`)).json.effective.version;
    expect(after).toBeGreaterThan(before);
    await put('/api/v1/policy/schools/default', { policy: { capture: { frames: 3 } }, reason: 'now 3' });
    const log = await h.api('GET', '/api/v1/policy/schools/default/changes');
    expect(log.status).toBe(200);
    expect(log.json.records.map((c: { scope: string }) => c.scope)).toEqual([
      'school:default',
      'school:default',
    ]);
    const [latest, first] = log.json.records;
    expect(latest).toMatchObject({
      old: { capture: { frames: 2 } },
      new: { capture: { frames: 3 } },
      reason: 'now 3',
    });
    expect(first).toMatchObject({ old: null, new: { capture: { frames: 2 } }, actor: 'admin-token' });

    // A move into a group whose layer is OLDER than the device's current version still raises it.
    await h.api('POST', '/api/v1/groups', { id: 'old-layer', schoolId: 'default', name: 'Old' });
    await put('/api/v1/policy/groups/old-layer', { policy: { heartbeatSeconds: 90 }, reason: 'old' });
    await put('/api/v1/policy/schools/default', { policy: { capture: { frames: 2 } }, reason: 'newer' });
    const v1 = (await h.api('GET', `/api/v1/devices/${dev.deviceId}/policy`)).json.effective.version;
    await put(`/api/v1/devices/${dev.deviceId}/group`, { groupId: 'old-layer', reason: 'moved' });
    const moved = (await h.api('GET', `/api/v1/devices/${dev.deviceId}/policy`)).json.effective;
    expect(moved.heartbeatSeconds).toBe(90);
    expect(moved.version).toBeGreaterThan(v1);
    const devLog = await h.api('GET', `/api/v1/policy/changes?scope=${dev.deviceId}`);
    expect(devLog.json.records[0]).toMatchObject({ move: { from: null, to: 'old-layer' }, reason: 'moved' });
  });

  it('pushes a group change only to that group’s connected devices', async () => {
    await h.api('POST', '/api/v1/groups', { id: 'push-a', schoolId: 'default', name: 'A' });
    await h.api('POST', '/api/v1/groups', { id: 'push-b', schoolId: 'default', name: 'B' });
    const a = await h.enrol();
    const b = await h.enrol();
    const c = await h.enrol();
    await put(`/api/v1/devices/${a.deviceId}/group`, { groupId: 'push-a', reason: 'a' });
    await put(`/api/v1/devices/${b.deviceId}/group`, { groupId: 'push-b', reason: 'b' });
    const A = await connect(a.deviceId, a.deviceKey);
    const B = await connect(b.deviceId, b.deviceKey);
    const C = await connect(c.deviceId, c.deviceKey);

    const changed = await put('/api/v1/policy/groups/push-a', {
      policy: { idleLock: { idleLockSeconds: 420 } },
      reason: 'year 7 short lock',
    });
    expect(changed.status).toBe(200);
    const groupVersion = changed.json.layer.version;
    const pushed = (await A.client.next('policy')).policy;
    expect(Number(pushed?.version)).toBe(groupVersion);
    expect(pushed?.idleLock?.idleLockSeconds).toBe(420);
    expect(groupVersion).toBeGreaterThan(A.version);

    // A marker every device receives: the first push B and C get after their Hello is the
    // marker's, so the group change reached neither.
    const marker = await put('/api/v1/policy', { policy: { heartbeatSeconds: 55 }, reason: 'marker' });
    const markerVersion = marker.json.policy.version;
    const trustLock = marker.json.policy.idleLock.idleLockSeconds;
    expect(trustLock).not.toBe(420);
    for (const other of [B, C]) {
      const first = (await other.client.next('policy')).policy;
      expect(Number(first?.version)).toBe(markerVersion);
      expect(first?.idleLock?.idleLockSeconds).toBe(trustLock);
    }
    const second = (await A.client.next('policy')).policy;
    expect(Number(second?.version)).toBe(markerVersion);
    expect(second?.idleLock?.idleLockSeconds).toBe(420);
    for (const x of [A, B, C]) x.client.ws.close();
  });
});

describe('school scope (replayed as a north-only admin)', () => {
  it('may not change the trust default, nor see or change another school’s layers, groups or devices', async () => {
    await h.api('POST', '/api/v1/groups', { id: 'default-g', schoolId: 'default', name: 'Default G' });
    await h.api('POST', '/api/v1/groups', { id: 'north-g', schoolId: 'north', name: 'North G' });
    const theirs = await h.enrol();
    const ours = await h.enrol();
    await inSchool(ours.deviceId, 'north');

    const trust = await northAdmin.req('PUT', '/api/v1/policy', {
      policy: { heartbeatSeconds: 10 },
      reason: 'x',
    });
    expect(trust.status).toBe(403);
    expect(trust.json.error.code).toBe('CUST_ERR_FORBIDDEN');

    const attempts: [string, string, unknown?][] = [
      ['GET', '/api/v1/policy/schools/default'],
      ['PUT', '/api/v1/policy/schools/default', { policy: { heartbeatSeconds: 10 }, reason: 'x' }],
      ['GET', '/api/v1/policy/schools/default/changes'],
      ['GET', '/api/v1/policy/groups/default-g'],
      ['PUT', '/api/v1/policy/groups/default-g', { policy: { heartbeatSeconds: 10 }, reason: 'x' }],
      ['GET', '/api/v1/policy/groups/default-g/changes'],
      ['PATCH', '/api/v1/groups/default-g', { name: 'mine now' }],
      ['DELETE', '/api/v1/groups/default-g', { reason: 'x' }],
      ['POST', '/api/v1/groups', { schoolId: 'default', name: 'planted' }],
      ['GET', `/api/v1/devices/${theirs.deviceId}/policy`],
      ['GET', `/api/v1/devices/${theirs.deviceId}/policy/layers`],
      ['PUT', `/api/v1/devices/${theirs.deviceId}/policy`, { policy: { heartbeatSeconds: 10 }, reason: 'x' }],
      ['PUT', `/api/v1/devices/${theirs.deviceId}/group`, { groupId: 'default-g', reason: 'x' }],
      // Their own device into the other school's group: the group is not theirs to see.
      ['PUT', `/api/v1/devices/${ours.deviceId}/group`, { groupId: 'default-g', reason: 'x' }],
    ];
    for (const [method, path, body] of attempts) {
      const r = await northAdmin.req(method, path, body);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.json.error.code, `${method} ${path}`).toBe('CUST_ERR_NOT_FOUND');
    }
    // Nothing changed.
    expect((await h.app.groups.get('default-g'))?.name).toBe('Default G');
    expect(await h.app.store.policy.getLayer({ kind: 'group', id: 'default-g' })).toBeUndefined();
    expect((await h.app.store.devices.get(theirs.deviceId))?.groupId).toBeUndefined();

    // Their own school: allowed.
    expect(
      (
        await northAdmin.req('PUT', '/api/v1/policy/groups/north-g', {
          policy: { heartbeatSeconds: 40 },
          reason: 'n',
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await northAdmin.req('PUT', `/api/v1/devices/${ours.deviceId}/group`, {
          groupId: 'north-g',
          reason: 'n',
        })
      ).status,
    ).toBe(200);
    const layers = await northAdmin.req('GET', `/api/v1/devices/${ours.deviceId}/policy/layers`);
    expect(layers.status).toBe(200);
    const hb = layers.json.fields.find((f: { field: string }) => f.field === 'heartbeatSeconds');
    expect(hb).toMatchObject({ value: 40, layer: 'group', id: 'north-g' });

    // Lists and the change log show only what is theirs (and the trust default's changes).
    const groups = await northAdmin.req('GET', '/api/v1/groups');
    expect(groups.json.groups.length).toBeGreaterThan(0);
    for (const g of groups.json.groups) expect(g.schoolId).toBe('north');
    const log = await northAdmin.req('GET', '/api/v1/policy/changes?limit=1000');
    expect(log.status).toBe(200);
    const scopes = new Set(log.json.records.map((c: { scope: string }) => c.scope));
    expect(scopes.has('group:north-g')).toBe(true);
    for (const s of ['school:default', 'group:y11', 'group:old-layer', theirs.deviceId])
      expect(scopes.has(s), s).toBe(false);
  });

  it('lets IT read layers but not set them; trust-wide staff see every school', async () => {
    expect((await it_.req('GET', '/api/v1/policy/schools/north')).status).toBe(200);
    const refused = await it_.req('PUT', '/api/v1/policy/schools/north', {
      policy: { heartbeatSeconds: 10 },
      reason: 'x',
    });
    expect(refused.status).toBe(403);
    const all = await it_.req('GET', '/api/v1/groups');
    const schools = new Set(all.json.groups.map((g: { schoolId: string }) => g.schoolId));
    expect([...schools].sort()).toEqual(['default', 'north']);
  });
});
