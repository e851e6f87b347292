// The DSL rota with a fake clock: the pure decision (decideRota, the time windows) and the thin
// shell (RotaRunner) over a memory store and the real outbox, with acknowledgement and viewing
// written by the real alert actions.
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/http/router.ts';
import { createLogger } from '../../src/log.ts';
import { type DeliveryLogEntry, Outbox, type OutboxEntry } from '../../src/notify/outbox.ts';
import { decideRota, newRotaState, type RotaState } from '../../src/notify/rota.ts';
import { RotaRunner } from '../../src/notify/rota-runner.ts';
import { timeWindowAt } from '../../src/notify/schedule.ts';
import { DEFAULT_SETTINGS, type NotifySettings, SettingsStore } from '../../src/notify/settings.ts';
import { acknowledgeAlert, gradeAlert, recordViewed } from '../../src/safeguarding/alert-actions.ts';
import { openMemoryStore } from '../../src/store/index.ts';
import { seedAlert, seedDevice } from '../safeguarding/seed.ts';

const MIN = 60_000;
const DSL: Principal = {
  kind: 'staff',
  userId: 'u1',
  username: 'dsl.one',
  role: 'dsl',
  sessionId: 's',
  csrfToken: 'c',
};

const settings: NotifySettings = {
  ...DEFAULT_SETTINGS,
  contacts: [
    { id: 'first', name: 'First DSL', email: 'first@school.test', role: 'dsl' },
    { id: 'second', name: 'Deputy DSL', email: 'second@school.test', role: 'dsl' },
    { id: 'night', name: 'On call', email: 'night@school.test', role: 'dsl' },
  ],
  rota: {
    escalateAfterMinutes: 15,
    stopOn: 'acknowledged',
    bands: [
      { minSeverity: 4, window: 'school-hours', contacts: ['first', 'second'] },
      { minSeverity: 4, window: 'any', contacts: ['night', 'first'] },
    ],
  },
  timeZone: 'Europe/London',
  schoolHours: { days: [1, 2, 3, 4, 5], start: '08:00', end: '16:30' },
  termDates: [{ name: 'Autumn 2', start: '2026-11-02', end: '2026-12-18' }],
};

// Monday 30 November 2026, 10:00 in London (GMT), in term.
const MONDAY_10 = Date.UTC(2026, 10, 30, 10, 0);

describe('time windows', () => {
  it('school hours, out of hours, weekends and holidays from the term dates', () => {
    expect(timeWindowAt(MONDAY_10, settings)).toBe('school-hours');
    expect(timeWindowAt(Date.UTC(2026, 10, 30, 16, 30), settings)).toBe('out-of-hours');
    expect(timeWindowAt(Date.UTC(2026, 10, 28, 10, 0), settings)).toBe('out-of-hours'); // Saturday
    expect(timeWindowAt(Date.UTC(2026, 11, 21, 10, 0), settings)).toBe('holidays'); // after term
    // Summer time: 07:30 UTC is 08:30 in London on 1 July.
    const summer = { ...settings, termDates: [{ name: 'Summer', start: '2027-06-07', end: '2027-07-21' }] };
    expect(timeWindowAt(Date.UTC(2027, 6, 1, 7, 30), summer)).toBe('school-hours');
    expect(timeWindowAt(Date.UTC(2027, 6, 1, 6, 30), summer)).toBe('out-of-hours');
  });
});

describe('decideRota (pure)', () => {
  const facts = { severity: 5, status: 'new' as const, history: [] };
  it('tells the first contact, waits N minutes, then the next; ends when the list is done', () => {
    let s: RotaState = newRotaState('a1', ['first', 'second'], MONDAY_10);
    expect(decideRota(s, facts, settings, MONDAY_10)).toEqual({ kind: 'tell', contactId: 'first', step: 0 });
    s = { ...s, told: 1, lastToldAt: MONDAY_10 };
    expect(decideRota(s, facts, settings, MONDAY_10 + 14 * MIN)).toEqual({
      kind: 'wait',
      until: MONDAY_10 + 15 * MIN,
    });
    expect(decideRota(s, facts, settings, MONDAY_10 + 15 * MIN)).toEqual({
      kind: 'tell',
      contactId: 'second',
      step: 1,
    });
    s = { ...s, told: 2, lastToldAt: MONDAY_10 + 15 * MIN };
    expect(decideRota(s, facts, settings, MONDAY_10 + 30 * MIN)).toEqual({
      kind: 'end',
      reason: 'exhausted',
    });
  });
  it('acknowledgement ends it; a decision ends it; viewing ends it only with stopOn viewed', () => {
    const s: RotaState = {
      ...newRotaState('a1', ['first', 'second'], MONDAY_10),
      told: 1,
      lastToldAt: MONDAY_10,
    };
    const later = MONDAY_10 + 20 * MIN;
    const acked = { ...facts, history: [{ at: MONDAY_10 + MIN, actor: 'dsl.one', action: 'acknowledged' }] };
    expect(decideRota(s, acked, settings, later)).toEqual({ kind: 'end', reason: 'acknowledged' });
    expect(decideRota(s, { ...facts, status: 'graded' }, settings, later)).toEqual({
      kind: 'end',
      reason: 'decided',
    });
    const viewed = { ...facts, history: [{ at: MONDAY_10 + MIN, actor: 'dsl.one', action: 'viewed' }] };
    expect(decideRota(s, viewed, settings, later).kind).toBe('tell');
    const onView = { rota: { ...settings.rota, stopOn: 'viewed' as const } };
    expect(decideRota(s, viewed, onView, later)).toEqual({ kind: 'end', reason: 'viewed' });
    // Ingest's own `opened` entry (the alert being created) is not a person opening it.
    const created = { ...facts, history: [{ at: MONDAY_10, actor: 'system', action: 'opened' }] };
    expect(decideRota(s, created, onView, later).kind).toBe('tell');
  });
  it('no contacts for the band: ends at once', () => {
    expect(decideRota(newRotaState('a1', [], MONDAY_10), facts, settings, MONDAY_10)).toEqual({
      kind: 'end',
      reason: 'no-contacts',
    });
  });
});

async function runnerWithClock(startAt: number) {
  const clock = { now: startAt };
  const now = () => clock.now;
  const store = openMemoryStore(undefined, now);
  const settingsStore = new SettingsStore(store.kv<NotifySettings>('notify-settings'));
  await settingsStore.update(() => settings);
  const outbox = new Outbox({
    pending: store.kv<OutboxEntry>('notify-outbox'),
    sent: store.kv<OutboxEntry>('notify-sent'),
    log: store.kv<DeliveryLogEntry>('notify-log'),
    now,
  });
  const runner = new RotaRunner({
    store,
    states: store.kv<RotaState>('notify-rota'),
    active: store.kv<{ since: number }>('notify-rota-active'),
    outbox,
    settings: settingsStore,
    consoleUrl: () => 'https://custodian.school.test',
    log: createLogger('silent'),
    now,
  });
  const device = await seedDevice(store);
  const told = async () => (await outbox.pending()).map((e) => e.target).sort();
  return { clock, store, outbox, runner, device, told, states: store.kv<RotaState>('notify-rota') };
}

describe('RotaRunner with a fake clock', () => {
  it('nobody acknowledges: the second contact is told after N minutes; acknowledgement stops the chain', async () => {
    const r = await runnerWithClock(MONDAY_10);
    const alert = await seedAlert(r.store, { device: r.device, severity: 5, time: MONDAY_10 });
    expect(await r.runner.start(alert)).toBe(true);
    expect(await r.told()).toEqual(['first@school.test']);
    r.clock.now = MONDAY_10 + 14 * MIN;
    await r.runner.stepAll();
    expect(await r.told()).toEqual(['first@school.test']);
    r.clock.now = MONDAY_10 + 15 * MIN;
    await r.runner.stepAll();
    expect(await r.told()).toEqual(['first@school.test', 'second@school.test']);
    // A step repeated (a restart between queueing and saving the state) queues nothing twice.
    await r.runner.stepAll();
    expect(await r.outbox.pending()).toHaveLength(2);

    const b = await seedAlert(r.store, { device: r.device, severity: 5, time: MONDAY_10, seq: 2 });
    r.clock.now = MONDAY_10 + 16 * MIN;
    await r.runner.start(b);
    expect(
      (await r.outbox.pending()).filter((e) => e.source.kind === 'alert' && e.source.alertId === b.id),
    ).toHaveLength(1);
    await acknowledgeAlert(r.store, b.id, {}, DSL, '127.0.0.1');
    r.clock.now = MONDAY_10 + 60 * MIN;
    await r.runner.stepAll();
    expect(
      (await r.outbox.pending()).filter((e) => e.source.kind === 'alert' && e.source.alertId === b.id),
    ).toHaveLength(1);
    expect((await r.states.get(b.id))?.ended?.reason).toBe('acknowledged');
    const stored = await r.store.alerts.get(b.id);
    expect(stored?.history.filter((h) => h.action === 'acknowledged')).toHaveLength(1);
    const trail = await r.store.audit.list({ target: `alert:${b.id}` });
    expect(trail.records.map((x) => x.action)).toContain('alert.acknowledged');
  });

  it('out of hours the night band is used; a DSL grading the alert ends the chain', async () => {
    const evening = Date.UTC(2026, 10, 30, 19, 0);
    const r = await runnerWithClock(evening);
    const alert = await seedAlert(r.store, { device: r.device, severity: 4, time: evening });
    await r.runner.start(alert);
    expect(await r.told()).toEqual(['night@school.test']);
    await gradeAlert(r.store, alert.id, { grade: 4 }, DSL, '127.0.0.1');
    r.clock.now = evening + 30 * MIN;
    await r.runner.stepAll();
    expect(await r.told()).toEqual(['night@school.test']);
    expect((await r.states.get(alert.id))?.ended?.reason).toBe('decided');
  });

  it('below the threshold: no chain; with stopOn viewed, opening the alert stops it', async () => {
    const r = await runnerWithClock(MONDAY_10);
    const low = await seedAlert(r.store, { device: r.device, severity: 3, time: MONDAY_10 });
    expect(await r.runner.start(low)).toBe(false);
    expect(await r.told()).toEqual([]);
    const s = new SettingsStore(r.store.kv<NotifySettings>('notify-settings'));
    await s.update((cur) => ({ ...cur, rota: { ...cur.rota, stopOn: 'viewed' } }));
    const a = await seedAlert(r.store, { device: r.device, severity: 5, time: MONDAY_10, seq: 3 });
    await r.runner.start(a);
    r.clock.now = MONDAY_10 + 2 * MIN;
    await recordViewed(r.store, a.id, {}, DSL, '127.0.0.1');
    r.clock.now = MONDAY_10 + 20 * MIN;
    await r.runner.stepAll();
    expect(await r.told()).toEqual(['first@school.test']);
    expect((await r.states.get(a.id))?.ended?.reason).toBe('viewed');
    const trail = await r.store.audit.list({ target: `alert:${a.id}` });
    expect(trail.records.map((x) => x.action)).toContain('view.alert');
  });
});
