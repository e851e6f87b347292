// Backup and restore of each store, as docs/deployment.md describes them, on a real collector
// process: a device with a timeline, a flagged event with an (encrypted) screenshot and a DSL's
// grade on its alert; back up; write one more event; stop; wipe (drop the database / delete the
// data dir); restore; start. The console's API shows exactly what it showed at the backup: the
// same devices, timeline, alerts and screenshot bytes, and not the event written after it.
// PostgreSQL: pg_dump while the collector runs, pg_restore into a new empty database.
// level: stop the collector, copy the data dir, start it again.
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { type PgCluster, startPostgres } from '../support/postgres.ts';
import { createStaff, type Json, staffSession, TestAgent } from './console-helpers.ts';

let pg: PgCluster;
let collector: CollectorProcess | undefined;
const scratch = mkdtempSync(join(tmpdir(), 'custodian-backup-'));
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterEach(async () => {
  await collector?.cleanup();
  collector = undefined;
});
afterAll(async () => {
  await pg?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** How one store is backed up and restored (what the deployment doc tells an operator to do). */
interface Procedure {
  env(): Promise<Record<string, string>>;
  /** Takes the backup; may stop and start the collector. */
  backup(c: CollectorProcess): Promise<void>;
  /** Collector stopped: wipes the store and restores the backup. */
  wipeAndRestore(c: CollectorProcess): Promise<void>;
}

function postgresProcedure(): Procedure {
  let db = '';
  const dump = join(scratch, 'custodian.dump');
  return {
    async env() {
      db = await pg.createDatabase();
      return { CUSTODIAN_STORE: 'postgres', CUSTODIAN_POSTGRES_URL: pg.url(db) };
    },
    // Online: pg_dump reads one consistent snapshot while the collector keeps writing.
    backup: () => pg.dump(db, dump),
    async wipeAndRestore() {
      await pg.dropDatabase(db);
      expect(await pg.psql('postgres', `SELECT count(*) FROM pg_database WHERE datname = '${db}'`)).toBe('0');
      await pg.createDatabase(db);
      await pg.restore(db, dump);
    },
  };
}

function levelProcedure(): Procedure {
  const copy = join(scratch, 'level-backup');
  return {
    env: async () => ({}),
    // Offline: a copy of a live level dir can catch a compaction half-way (see the doc).
    async backup(c) {
      expect(await c.stop()).toBe(0);
      cpSync(c.dataDir, copy, { recursive: true, preserveTimestamps: true });
      await c.restart();
    },
    async wipeAndRestore(c) {
      rmSync(c.dataDir, { recursive: true, force: true });
      expect(existsSync(c.dataDir)).toBe(false);
      cpSync(copy, c.dataDir, { recursive: true, preserveTimestamps: true });
    },
  };
}

/** The DSL's screenshot bytes (a plain fetch: the session helper decodes bodies as text). */
async function screenshot(c: CollectorProcess, who: { username: string; password: string }, path: string) {
  const login = await fetch(`${c.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(who),
  });
  expect(login.status).toBe(200);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const res = await fetch(`${c.url}/api/v1${path}`, { headers: { cookie } });
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/** What the console shows of the deployment: devices, the device's timeline, alerts, one alert. */
async function consoleView(
  c: CollectorProcess,
  dsl: { username: string; password: string },
  deviceId: string,
) {
  const as = await staffSession(c, dsl);
  const get = async (path: string) => {
    const r = await as('GET', path);
    expect(r.status).toBe(200);
    return r.data as Json;
  };
  const devices = (await get('/devices')).devices.map((d: Json) => ({
    id: d.id,
    hostname: d.hostname,
    kind: d.kind,
    enrolledAt: d.enrolledAt,
  }));
  const timeline = await get(`/devices/${deviceId}/timeline?limit=500`);
  const alerts = await get('/alerts');
  const alertId = alerts.alerts[0]?.id as string;
  const alert = (await get(`/alerts/${alertId}`)).alert;
  return { devices, timeline, alerts, alert, alertId };
}

const PROCEDURES: Record<string, () => Procedure> = { postgres: postgresProcedure, level: levelProcedure };

describe.each(Object.keys(PROCEDURES))('backup and restore of the %s store', (name) => {
  it('back up, write more, wipe, restore: the console shows what it showed at the backup', async () => {
    const procedure = (PROCEDURES[name] as () => Procedure)();
    collector = await startCollector({ env: await procedure.env() });
    const c = collector;
    const dsl = await createStaff(c, `dsl-${name}`, 'dsl');
    const agent = await TestAgent.enrol(c, `LAPTOP-${name.toUpperCase()}`);
    await agent.connect();
    await agent.send(
      { activeWindow: { app: 'firefox', title: 'Homework', url: '', pid: 1 } },
      { heartbeat: { uptimeSeconds: 60 } },
    );
    const shot = new Uint8Array(Buffer.from(`png-bytes-${name}-`.repeat(200)));
    const blobId = await agent.uploadBlob(shot);
    await agent.send({
      flaggedActivity: {
        category: 'bullying',
        severity: 3,
        matchedTerm: 'loser',
        context: '... loser ...',
        window: { app: 'firefox', title: 'chat', url: '', pid: 1 },
        screenshotBlobIds: [blobId],
        source: 'title',
      },
    });
    await agent.disconnect();
    const as = await staffSession(c, dsl);
    const listed = await as('GET', '/alerts');
    expect(listed.data.alerts).toHaveLength(1);
    const graded = await as('POST', `/alerts/${listed.data.alerts[0].id}/grade`, { grade: 4, note: 'seen' });
    expect(graded.status).toBe(200);

    const before = await consoleView(c, dsl, agent.deviceId);
    expect(before.devices).toHaveLength(1);
    expect(before.timeline.events.length).toBeGreaterThanOrEqual(3);
    expect(before.alert.grade).toBe(4);
    const shotPath = `/alerts/${before.alertId}/screenshots/${blobId}`;
    expect(Buffer.compare(await screenshot(c, dsl, shotPath), Buffer.from(shot))).toBe(0);

    await procedure.backup(c);
    // Written after the backup: gone once the backup is restored.
    await agent.connect();
    await agent.send({ activeWindow: { app: 'firefox', title: 'After the backup', url: '', pid: 1 } });
    await agent.disconnect();
    const written = await consoleView(c, dsl, agent.deviceId);
    expect(written.timeline.events.length).toBe(before.timeline.events.length + 1);

    expect(await c.stop()).toBe(0);
    await procedure.wipeAndRestore(c);
    await c.restart();

    const after = await consoleView(c, dsl, agent.deviceId);
    expect(after).toEqual(before);
    expect(Buffer.compare(await screenshot(c, dsl, shotPath), Buffer.from(shot))).toBe(0);
  });
});
