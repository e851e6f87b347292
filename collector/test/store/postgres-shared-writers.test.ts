// Several collector processes writing one PostgreSQL database (`sharedWriters`), raced for real
// on a throwaway cluster: each "process" here is a store (its own connection pools, sessions and
// in-process lock) or a whole app on it, all on one database; the job failover test kills a real
// second process with SIGKILL. Before the cross-process locks every race below lost writes: the
// store's write lock was per process, so two processes both read the record, both changed it and
// the second write won (two devices from one code, a grade without the other DSL's note, two
// policy versions built on the same default).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Policy } from '@custodian/policy';
import { ErrorCode } from '@custodian/protocol';
import { Secret } from 'otpauth';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type PgCluster, startPostgres } from '../../../test/support/postgres.ts';
import { type App, createApp } from '../../src/app.ts';
import { MfaService, totpFor } from '../../src/auth/mfa.ts';
import { NOTIFICATIONS_NS, Notifications } from '../../src/auth/notifications.ts';
import { type SessionRecord, SessionService } from '../../src/auth/sessions.ts';
import { type Bucket, LoginThrottle, storedBuckets } from '../../src/auth/throttle.ts';
import { type UserRecord, UserService } from '../../src/auth/users.ts';
import { defaultConfig } from '../../src/config.ts';
import { GroupCommitter } from '../../src/ingest/group-commit.ts';
import { createLogger } from '../../src/log.ts';
import { installNotify } from '../../src/notify/index.ts';
import { DEFAULT_SETTINGS } from '../../src/notify/settings.ts';
import { addNote, gradeAlert } from '../../src/safeguarding/alert-actions.ts';
import { openPostgresStore } from '../../src/store/index.ts';
import { K, toJsonBytes } from '../../src/store/keys.ts';
import type { Store } from '../../src/store/types.ts';
import { passwordOnly } from '../helpers/password-only.ts';
import { startWebhookReceiver } from '../notify/receivers.ts';
import { seedAlert, seedDevice } from '../safeguarding/seed.ts';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'hold-job.ts');

let pg: PgCluster;
const key = randomBytes(32);
const cleanup: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => undefined);
});
afterAll(async () => {
  await pg?.stop();
});

async function database(): Promise<string> {
  return pg.url(await pg.createDatabase());
}

async function stores(url: string, n: number): Promise<Store[]> {
  const out: Store[] = [];
  for (let i = 0; i < n; i++) {
    const s = await openPostgresStore({ url, sharedWriters: true, poolMax: 4 }, key);
    cleanup.push(() => s.close());
    out.push(s);
  }
  return out;
}

/** A collector app (no HTTP listener, no modules) on its own shared-writer store. */
async function apps(url: string, n: number): Promise<App[]> {
  const out: App[] = [];
  const env = {
    CUSTODIAN_ADMIN_TOKEN: 'a'.repeat(40),
    CUSTODIAN_ENROL_SECRET: 'e'.repeat(40),
  };
  for (const store of await stores(url, n)) {
    const dir = mkdtempSync(join(tmpdir(), 'custodian-shared-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const config = passwordOnly(defaultConfig(join(dir, 'data')));
    config.logLevel = 'silent';
    out.push(await createApp({ config, store, env, log: createLogger('silent'), modules: [] }));
  }
  return out;
}

const settle = <T>(ps: Promise<T>[]) => Promise.allSettled(ps);

describe('several collector processes on one PostgreSQL database', () => {
  it('2 processes x 10 concurrent redemptions of one BYOD code enrol exactly one device', async () => {
    const [a, b] = (await apps(await database(), 2)) as [App, App];
    const { code } = await a.enrol.createCode({ ttlHours: 1, actor: 'admin' });
    const agreement = await a.enrol.agreements.current();
    const body = (i: number) => ({
      code,
      machineId: `m-race-${i}`,
      hostname: `race-${i}`,
      os: 'linux',
      serial: `SN-${i}`,
      userName: 'Sam Sixthform',
      acceptAgreement: true,
      agreementVersion: agreement.version,
      agreementSha256: agreement.sha256,
    });
    const results = await settle(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).enrol.enrolByod(body(i), '10.0.0.1')),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(19);
    for (const r of refused)
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: ErrorCode.BAD_ENROL_CODE });
    const byod = (await b.store.devices.list()).filter((d) => d.kind === 'byod');
    expect(byod).toHaveLength(1);
    const codes = await a.store.enrol.listCodes();
    expect(codes[0]?.usedByDevice).toBe(byod[0]?.id);
  }, 60_000);

  it('DSLs on two processes grading and noting one alert at once: every note and history entry kept', async () => {
    const [a, b] = await stores(await database(), 2);
    const device = await seedDevice(a as Store);
    const alert = await seedAlert(a as Store, { device });
    const dsl = (name: string) => ({
      kind: 'staff' as const,
      role: 'dsl' as const,
      username: name,
      userId: name,
      sessionId: name,
      csrfToken: name,
    });
    const N = 12;
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < N; i++) {
      const [store, who] = i % 2 === 0 ? [a as Store, 'dsl-a'] : [b as Store, 'dsl-b'];
      work.push(addNote(store, alert.id, { text: `note ${i}` }, dsl(who), '10.0.0.2'));
      work.push(
        gradeAlert(store, alert.id, { grade: (i % 5) + 1, note: `grade ${i}` }, dsl(who), '10.0.0.3'),
      );
    }
    await Promise.all(work);
    const final = await (b as Store).alerts.get(alert.id);
    const texts = (final?.notes ?? []).map((n) => n.text).sort();
    const want = Array.from({ length: N }, (_, i) => [`note ${i}`, `grade ${i}`])
      .flat()
      .sort();
    expect(texts).toEqual(want);
    expect(final?.history.filter((h) => h.action === 'noted')).toHaveLength(N);
    expect(final?.history.filter((h) => h.action === 'graded')).toHaveLength(N);
    // Each grade's `from` is the grade before it: no decision was made on a stale alert.
    const grades = (final?.history ?? []).filter((h) => h.action === 'graded');
    for (let i = 1; i < grades.length; i++) expect(grades[i]?.from).toBe(grades[i - 1]?.to);
    const audited = await (a as Store).audit.list({ target: `alert:${alert.id}`, limit: 1000 });
    expect(audited.records).toHaveLength(2 * N);
  }, 60_000);

  it('concurrent policy changes on three processes: versions distinct and increasing, none lost', async () => {
    const list = await apps(await database(), 3);
    const N = 6;
    const work: Promise<Policy>[] = [];
    for (let i = 0; i < N; i++)
      // Each process edits its own field: a change built on a stale default would undo another's.
      for (const [j, app] of list.entries())
        work.push(
          app.policy.updateDefault(
            j === 0
              ? { heartbeatSeconds: 60 + i }
              : j === 1
                ? { windowSampleMs: 1000 + i }
                : { idleLock: { idleLockSeconds: 600 + i } },
            `change ${j}/${i}`,
            `admin-${j}`,
          ),
        );
    const stored = await Promise.all(work);
    const versions = stored.map((p) => p.version);
    expect(new Set(versions).size).toBe(3 * N);
    const { records } = await (list[0] as App).store.policy.changes({ scope: 'default', limit: 1000 });
    const chain = [...records].sort((x, y) => x.version - y.version);
    // The first start stored version 1 once (three processes started on an empty database).
    expect(chain.map((c) => c.version)).toEqual(Array.from({ length: 3 * N + 1 }, (_, i) => i + 1));
    for (let i = 1; i < chain.length; i++) expect(chain[i]?.old).toEqual(chain[i - 1]?.new);
    const final = (await (list[2] as App).policy.getDefault()) as Policy;
    expect(final.version).toBe(3 * N + 1);
    // The last change of each field is in the final default.
    const lastOf = (j: number) =>
      chain.filter((c) => c.reason.startsWith(`change ${j}/`)).at(-1)?.new as Policy | undefined;
    expect(final.heartbeatSeconds).toBe(lastOf(0)?.heartbeatSeconds);
    expect(final.windowSampleMs).toBe(lastOf(1)?.windowSampleMs);
    expect(final.idleLock.idleLockSeconds).toBe(lastOf(2)?.idleLock.idleLockSeconds);
  }, 90_000);

  it('a school layer and a group layer changed at once on two processes cannot together break a chain', async () => {
    const [a, b] = (await apps(await database(), 2)) as [App, App];
    await a.groups.create({ id: 'race', schoolId: 'default', name: 'Race' }, 'admin');
    const device = await seedDevice(a.store);
    await a.policy.moveDevice(device.id, 'race', 'race test', 'admin');
    // Each is valid alone (the default lock is 900 s); together the warning is longer than the lock.
    for (let round = 0; round < 5; round++) {
      const [school, group] = await settle([
        a.policy.updateLayer(
          { kind: 'school', id: 'default' },
          { idleLock: { idleLockSeconds: 300 } },
          'a',
          'admin-a',
        ),
        b.policy.updateLayer(
          { kind: 'group', id: 'race' },
          { idleLock: { warningSeconds: 500 } },
          'b',
          'admin-b',
        ),
      ]);
      expect([school?.status, group?.status].sort()).toEqual(['fulfilled', 'rejected']);
      const refused = (school?.status === 'rejected' ? school : group) as PromiseRejectedResult;
      expect(refused.reason).toMatchObject({ code: 'CUST_ERR_INVALID_POLICY' });
      // The device's chain still merges, on both processes.
      expect((await a.policy.effective(device.id)).idleLock.idleLockSeconds).toBeGreaterThan(0);
      expect((await b.policy.effective(device.id)).idleLock.idleLockSeconds).toBeGreaterThan(0);
      await a.policy.updateLayer({ kind: 'school', id: 'default' }, null, 'reset', 'admin-a');
      await b.policy.updateLayer({ kind: 'group', id: 'race' }, null, 'reset', 'admin-b');
    }
  }, 90_000);

  it('kv read-modify-writes from three processes: 3 x 25 concurrent increments give 75', async () => {
    const list = await stores(await database(), 3);
    await Promise.all(
      list.flatMap((s) =>
        Array.from({ length: 25 }, () => s.kv<number>('counters').update('c', (n) => (n ?? 0) + 1)),
      ),
    );
    expect(await (list[1] as Store).kv<number>('counters').get('c')).toBe(75);
  }, 60_000);

  it('a device record updated from two processes at once keeps both changes', async () => {
    const [a, b] = await stores(await database(), 2);
    const device = await seedDevice(a as Store);
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? (a as Store) : (b as Store)).devices.update(device.id, (d) => ({
          ...d,
          cloneSuspicion: [...(d.cloneSuspicion ?? []), { at: i, reason: `r${i}` }],
        })),
      ),
    );
    const got = await (b as Store).devices.get(device.id);
    expect((got?.cloneSuspicion ?? []).map((c) => c.reason).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `r${i}`).sort(),
    );
  }, 60_000);

  it('one TOTP code answered on two processes at once signs in once (the replay guard holds across processes)', async () => {
    const list = await stores(await database(), 2);
    const services = list.map((s) => {
      const users = new UserService({ kv: s.kv<UserRecord>('users'), withLock: (fn) => s.withLock(fn) });
      return { users, mfa: new MfaService({ users, challenges: s.kv('mfa-challenges') }) };
    });
    const [a, b] = services as [(typeof services)[0], (typeof services)[0]];
    const { user } = await a.users.create({ username: 'dsl.one', role: 'dsl' }, 'admin');
    const secret = new Secret().base32;
    await a.users.modify(user.id, (u) => ({
      ...u,
      mfa: { secret, enabledAt: 1, lastStep: 0, recovery: [] },
    }));
    const stored = (await b.users.get(user.id)) as UserRecord;
    const challenges = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? b : a).mfa.challenge(stored)),
    );
    const code = totpFor(secret, 'x').generate({ timestamp: Date.now() });
    const answers = await Promise.all(
      challenges.map((c, i) => (i % 2 ? b : a).mfa.answer(c.token, { code })),
    );
    expect(answers.filter((r) => r.ok)).toHaveLength(1);
    expect(answers.filter((r) => !r.ok && r.reason === 'replay')).toHaveLength(11);
  }, 60_000);

  it('a sign-out on one process between another process reading and touching the session keeps it signed out', async () => {
    const [a, b] = await stores(await database(), 2);
    const clock = { now: 1_000_000 };
    const now = () => clock.now;
    const onB = new SessionService({ kv: (b as Store).kv<SessionRecord>('sessions'), now });
    const kvA = (a as Store).kv<SessionRecord>('sessions');
    let signOut: (() => Promise<void>) | undefined;
    // Process A reads the session; process B signs it out right then; then A touches it.
    const interleaved = {
      ...kvA,
      get: async (key: string) => {
        const got = await kvA.get(key);
        await signOut?.();
        signOut = undefined;
        return got;
      },
      put: kvA.put.bind(kvA),
      del: kvA.del.bind(kvA),
      list: kvA.list.bind(kvA),
      update: kvA.update.bind(kvA),
    };
    const onA = new SessionService({ kv: interleaved, now });
    const { id } = await onA.create('u1', { ip: '10.0.0.1', userAgent: 'test' });
    clock.now += 5 * 60_000; // due for a touch
    signOut = () => onB.revoke(id);
    const first = await onA.lookup(id);
    expect(first.ok).toBe(false);
    expect((await onB.lookup(id)).ok).toBe(false);
    expect(await (b as Store).kv('sessions').list()).toEqual([]);
  }, 60_000);

  it('login throttle shared by two processes: of 2 x 20 parallel attempts only the 5 free ones go ahead', async () => {
    const list = await stores(await database(), 2);
    const throttles = list.map(
      (s) => new LoginThrottle({ freeAttempts: 5 }, storedBuckets(s.kv<Bucket>('t'))),
    );
    const waits = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (throttles[i % 2] as LoginThrottle).begin('alice', '10.9.9.9')),
    );
    expect(waits.filter((w) => w === 0)).toHaveLength(5);
    expect(await (throttles[1] as LoginThrottle).retryAfterMs('Alice', '10.9.9.9')).toBeGreaterThan(0);
  }, 60_000);

  it('a stream state is never lowered by a late commit from the process that held the device before', async () => {
    const [a, b] = await stores(await database(), 2);
    const state = (maxSeq: number) => ({
      deviceId: 'd1',
      streamId: 's1',
      maxSeq,
      count: maxSeq,
      firstSeenAt: 1,
      lastSeenAt: maxSeq,
      gaps: [],
      outOfOrder: 0,
      duplicates: 0,
    });
    await (b as Store).engine.batch(
      [{ type: 'put', key: K.stream('d1', 's1'), value: toJsonBytes(state(50)) }],
      {
        sync: true,
      },
    );
    await (a as Store).engine.batch(
      [{ type: 'put', key: K.stream('d1', 's1'), value: toJsonBytes(state(30)) }],
      {
        sync: true,
      },
    );
    expect((await (a as Store).timeline.getStream('d1', 's1'))?.maxSeq).toBe(50);
    await (a as Store).engine.batch(
      [{ type: 'put', key: K.stream('d1', 's1'), value: toJsonBytes(state(51)) }],
      {
        sync: true,
      },
    );
    expect((await (b as Store).timeline.getStream('d1', 's1'))?.maxSeq).toBe(51);
  }, 60_000);

  it('one device on two processes at once: the second write of its event fails alone, not the group it shared', async () => {
    const [a, b] = (await stores(await database(), 2)) as [Store, Store];
    // The two writes of one event (records.ts timelineOps), with any bytes for the sealed record.
    const event = (deviceId: string, seq: number, time: number) => {
      const tl = K.timeline(deviceId, time, 's1', seq);
      return [
        { type: 'put' as const, key: tl, value: toJsonBytes({ seq }) },
        { type: 'put' as const, key: K.eventRef(deviceId, 's1', seq), value: toJsonBytes(tl) },
      ];
    };
    // Process A stored d1's event 5; process B, still holding a connection from d1, got the same
    // event resent with another receive time, in the same group commit as d2's event 1.
    await a.engine.batch(event('d1', 5, 1_000), { sync: true });
    const gc = new GroupCommitter(b.engine, 20);
    const [dup, other] = await settle([gc.enqueue(event('d1', 5, 2_000)), gc.enqueue(event('d2', 1, 2_000))]);
    expect(dup).toMatchObject({ status: 'rejected', reason: { code: ErrorCode.CONFLICT } });
    expect(other?.status).toBe('fulfilled');
    expect(await a.engine.get(K.eventRef('d2', 's1', 1))).toBeDefined();
    // d1's event is stored once, where A put it.
    const d1: string[] = [];
    const prefix = K.timelinePrefix('d1');
    for await (const [k] of a.engine.entries({ gte: prefix, lt: `${prefix}\uffff` })) d1.push(k);
    expect(d1).toEqual([K.timeline('d1', 1_000, 's1', 5)]);
  }, 60_000);

  it('retention runs on one process at a time: while one runs it the others get CUST_ERR_CONFLICT and their ticks skip', async () => {
    const [a, b, c] = (await apps(await database(), 3)) as [App, App, App];
    let release: () => void = () => undefined;
    let entered: () => void = () => undefined;
    const inside = new Promise<void>((r) => (entered = r));
    // Process a is in the middle of a run (held open here).
    const holding = a.store.runExclusive('retention', async () => {
      entered();
      await new Promise<void>((r) => (release = r));
    });
    await inside;
    const results = await settle([b.retention.run(), c.retention.run()]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: ErrorCode.CONFLICT });
    }
    expect(await c.retention.tick(60_000)).toBeUndefined();
    expect(await a.store.purges.list(10)).toEqual([]);
    release();
    expect((await holding).ran).toBe(true);
    // Free again: b runs, and a tick elsewhere within the interval skips (it ran recently).
    const run = await b.retention.run();
    expect((await c.store.purges.list(10)).map((p) => p.id)).toEqual([run.id]);
    expect(await c.retention.tick(3_600_000)).toBeUndefined();
    expect(await a.store.purges.list(10)).toHaveLength(1);
  }, 60_000);

  it('notification passes ticking on two processes at once send each staff message once', async () => {
    const [a, b] = (await apps(await database(), 2)) as [App, App];
    const secret = randomBytes(24).toString('base64url');
    const receiver = await startWebhookReceiver({ secret: () => secret });
    cleanup.push(() => receiver.close());
    const na = await installNotify(a, { tickMs: 3_600_000 });
    const nb = await installNotify(b, { tickMs: 3_600_000 });
    cleanup.push(
      () => na.stop(),
      () => nb.stop(),
    );
    await na.settings.update(() => ({
      ...DEFAULT_SETTINGS,
      webhooks: [
        {
          id: 'h1',
          name: 'trust SIEM',
          url: receiver.url,
          events: ['staff'],
          secret,
          createdAt: 1,
          createdBy: 'admin',
        },
      ],
    }));
    const notices = new Notifications({ kv: a.store.kv(NOTIFICATIONS_NS), audit: a.store.audit });
    const sent = [];
    for (let i = 0; i < 6; i++)
      sent.push(await notices.notify('it', 'health.offline', `device ${i} offline`));
    for (let round = 0; round < 4; round++) await Promise.all([na.tick(), nb.tick(), na.tick(), nb.tick()]);
    await expect.poll(() => receiver.accepted().length, { timeout: 10_000 }).toBe(6);
    // Give any second sender time to show itself, then count again.
    await new Promise((r) => setTimeout(r, 500));
    await Promise.all([na.tick(), nb.tick()]);
    const ids = receiver.accepted().map((h) => h.deliveryId);
    expect(ids).toHaveLength(6);
    expect(new Set(ids).size).toBe(6);
  }, 60_000);

  it('exactly one of three processes runs a single-runner job at a time', async () => {
    const list = await stores(await database(), 3);
    let inside = 0;
    let most = 0;
    let runs = 0;
    const job = () =>
      Promise.all(
        list.map((s) =>
          s.runExclusive('notify', async () => {
            inside++;
            runs++;
            most = Math.max(most, inside);
            await new Promise((r) => setTimeout(r, 150));
            inside--;
          }),
        ),
      );
    for (let round = 0; round < 5; round++) {
      const r = await job();
      expect(r.filter((x) => x.ran)).toHaveLength(1);
    }
    expect(most).toBe(1);
    expect(runs).toBe(5);
  }, 60_000);

  it('a job whose runner is killed (SIGKILL) mid-run is taken over by another process', async () => {
    const url = await database();
    const [app] = (await apps(url, 1)) as [App];
    const holder: ChildProcess = spawn(process.execPath, [FIXTURE, url, 'retention'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanup.push(async () => holder.kill('SIGKILL'));
    const lines = createInterface({ input: holder.stdout as NodeJS.ReadableStream });
    await new Promise<void>((resolve, reject) => {
      lines.on('line', (l) => l === 'holding' && resolve());
      holder.once('exit', (c) => reject(new Error(`holder exited with ${c}`)));
    });
    // While the other process runs it, this one's run is refused and its tick does nothing.
    await expect(app.retention.run()).rejects.toMatchObject({ code: ErrorCode.CONFLICT });
    expect(await app.retention.tick(60_000)).toBeUndefined();
    expect(await app.store.purges.list(1)).toEqual([]);
    holder.kill('SIGKILL');
    // Its session ends with it; the next tick here runs the purge.
    await expect
      .poll(async () => (await app.retention.tick(60_000))?.id, { timeout: 20_000, interval: 200 })
      .toBeDefined();
    expect(await app.store.purges.list(5)).toHaveLength(1);
  }, 60_000);

  it('first start of three processes on an empty database makes one enrol secret, one admin token, one default policy', async () => {
    const url = await database();
    const list = await stores(url, 3);
    const envs = list.map(() => ({}));
    const started = await Promise.all(
      list.map(async (store, i) => {
        const dir = mkdtempSync(join(tmpdir(), 'custodian-shared-'));
        cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
        const config = passwordOnly(defaultConfig(join(dir, 'data')));
        config.logLevel = 'silent';
        return createApp({ config, store, env: envs[i], log: createLogger('silent'), modules: [] });
      }),
    );
    const printed = started.filter((s) => s.credentials.adminToken !== undefined);
    expect(printed).toHaveLength(1);
    expect(started.filter((s) => s.credentials.enrolSecret !== undefined)).toHaveLength(1);
    const { records } = await (list[0] as Store).policy.changes({ scope: 'default' });
    expect(records).toHaveLength(1);
  }, 60_000);
});
