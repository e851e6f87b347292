// Per-school alert routing (issue 20): the pure choice of a chain's contacts between a school's
// notify layer and the trust's record, the layer's patch rules, and the rota shell over a memory
// store with a fake clock (which record a chain is started from and stays with).
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { type DeliveryLogEntry, Outbox, type OutboxEntry } from '../../src/notify/outbox.ts';
import type { RotaState } from '../../src/notify/rota.ts';
import { RotaRunner } from '../../src/notify/rota-runner.ts';
import {
  chooseChain,
  layeredSettings,
  SCHOOL_LAYERS_NS,
  type SchoolNotifyLayer,
} from '../../src/notify/school-layer.ts';
import { DEFAULT_SETTINGS, type NotifySettings, SettingsStore } from '../../src/notify/settings.ts';
import { applyLayerPatch } from '../../src/notify/settings-schema.ts';
import { openMemoryStore } from '../../src/store/index.ts';
import { seedAlert, seedDevice } from '../safeguarding/seed.ts';

const MIN = 60_000;
// Monday 30 November 2026 in London (GMT), in term.
const MONDAY_10 = Date.UTC(2026, 10, 30, 10, 0);
const MONDAY_0730 = Date.UTC(2026, 10, 30, 7, 30);
const MONDAY_19 = Date.UTC(2026, 10, 30, 19, 0);

const trust: NotifySettings = {
  ...DEFAULT_SETTINGS,
  contacts: [
    { id: 'dsl1', name: 'Trust DSL', email: 'trust-dsl@trust.test', role: 'dsl' },
    { id: 'oncall', name: 'Trust on call', email: 'oncall@trust.test', role: 'dsl' },
  ],
  rota: {
    escalateAfterMinutes: 15,
    stopOn: 'acknowledged',
    bands: [{ minSeverity: 4, window: 'any', contacts: ['dsl1', 'oncall'] }],
  },
  termDates: [{ name: 'Autumn 2', start: '2026-11-02', end: '2026-12-18' }],
};

/** School A: its own DSL (the same contact id as the trust's, another person) in its hours only, from 07:00. */
const layerA: SchoolNotifyLayer = {
  schoolId: 'school-a',
  contacts: [
    { id: 'dsl1', name: 'A DSL', email: 'a-dsl@a.test', role: 'dsl' },
    { id: 'a-deputy', name: 'A deputy', email: 'a-deputy@a.test', role: 'dsl' },
  ],
  rota: {
    escalateAfterMinutes: 5,
    stopOn: 'acknowledged',
    bands: [{ minSeverity: 4, window: 'school-hours', contacts: ['dsl1', 'a-deputy'] }],
  },
  schoolHours: { days: [1, 2, 3, 4, 5], start: '07:00', end: '15:00' },
  updatedAt: 0,
  updatedBy: 'test',
};

describe('chooseChain (pure)', () => {
  it('no layer: the trust record as before', () => {
    expect(layeredSettings(trust, null)).toBe(trust);
    expect(chooseChain(5, MONDAY_10, trust, null)).toEqual({ layer: null, contacts: ['dsl1', 'oncall'] });
  });

  it("the school's band in the school's own hours; the trust's rota where the school's has a gap", () => {
    expect(chooseChain(5, MONDAY_10, trust, layerA)).toEqual({
      layer: 'school-a',
      contacts: ['dsl1', 'a-deputy'],
    });
    // 07:30 is school A's hours (from 07:00), not the trust's (from 08:00).
    expect(chooseChain(4, MONDAY_0730, trust, layerA).layer).toBe('school-a');
    // Evening: school A has no band for it, the trust's on-call rota takes it.
    expect(chooseChain(5, MONDAY_19, trust, layerA)).toEqual({ layer: null, contacts: ['dsl1', 'oncall'] });
    // Below the school's bands' severity: likewise.
    expect(chooseChain(3, MONDAY_10, trust, layerA).layer).toBeNull();
  });

  it('the schedule fields a layer leaves out are the trust’s', () => {
    const s = layeredSettings(trust, layerA);
    expect(s.termDates).toEqual(trust.termDates);
    expect(s.timeZone).toBe(trust.timeZone);
    expect(s.schoolHours.start).toBe('07:00');
    expect(s.smtp).toBe(trust.smtp);
    expect(s.webhooks).toBe(trust.webhooks);
  });
});

describe('applyLayerPatch (pure)', () => {
  it('a new layer; bands must name its own contacts; null schedule fields go back to the trust', () => {
    const made = applyLayerPatch(
      trust,
      null,
      'school-b',
      {
        contacts: [{ id: 'b1', name: 'B DSL', email: 'b@b.test', role: 'dsl' }],
        rota: {
          escalateAfterMinutes: 10,
          stopOn: 'viewed',
          bands: [{ minSeverity: 4, window: 'any', contacts: ['b1'] }],
        },
        timeZone: 'Europe/Dublin',
      },
      'dsl-b',
      123,
    );
    expect(made).toMatchObject({ schoolId: 'school-b', timeZone: 'Europe/Dublin', updatedBy: 'dsl-b' });
    expect(made.schoolHours).toBeUndefined();
    // The trust's contact is not the school's: a band naming it is refused.
    expect(() =>
      applyLayerPatch(
        trust,
        null,
        'school-b',
        { rota: { ...made.rota, bands: [{ minSeverity: 4, window: 'any', contacts: ['oncall'] }] } },
        'x',
        1,
      ),
    ).toThrow(/oncall/);
    expect(() =>
      applyLayerPatch(
        trust,
        made,
        'school-b',
        { schoolHours: { days: [1], start: '15:00', end: '08:00' } },
        'x',
        1,
      ),
    ).toThrow(/end after/);
    const kept = applyLayerPatch(trust, made, 'school-b', { termDates: [] }, 'x', 2);
    expect(kept.contacts).toEqual(made.contacts);
    expect(kept.timeZone).toBe('Europe/Dublin');
    expect(kept.termDates).toEqual([]);
    const back = applyLayerPatch(trust, kept, 'school-b', { timeZone: null }, 'x', 3);
    expect(back.timeZone).toBeUndefined();
    expect(back.termDates).toEqual([]);
  });
});

async function runner(startAt: number) {
  const clock = { now: startAt };
  const now = () => clock.now;
  const store = openMemoryStore(undefined, now);
  const settings = new SettingsStore(
    store.kv<NotifySettings>('notify-settings'),
    store.kv<SchoolNotifyLayer>(SCHOOL_LAYERS_NS),
  );
  await settings.update(() => trust);
  await store.kv<SchoolNotifyLayer>(SCHOOL_LAYERS_NS).put('school-a', layerA);
  const outbox = new Outbox({
    pending: store.kv<OutboxEntry>('notify-outbox'),
    sent: store.kv<OutboxEntry>('notify-sent'),
    log: store.kv<DeliveryLogEntry>('notify-log'),
    now,
  });
  const rota = new RotaRunner({
    store,
    states: store.kv<RotaState>('notify-rota'),
    active: store.kv<{ since: number }>('notify-rota-active'),
    outbox,
    settings,
    consoleUrl: () => 'https://custodian.trust.test',
    log: createLogger('silent'),
    now,
  });
  /** The addresses told for one alert, in rota order; with no alert, every address (sorted). */
  const told = async (alertId?: string) => {
    const all = await outbox.pending();
    if (alertId === undefined) return all.map((e) => e.target).sort();
    const step = (e: OutboxEntry) => (e.source.kind === 'alert' ? e.source.step : 0);
    return all
      .filter((e) => e.source.kind === 'alert' && e.source.alertId === alertId)
      .sort((a, b) => step(a) - step(b))
      .map((e) => e.target);
  };
  return { clock, store, settings, rota, told };
}

describe('RotaRunner picks the alert’s school when the chain starts', () => {
  it("school A's alert tells A's people at A's pace; a default-school alert the trust's", async () => {
    const r = await runner(MONDAY_10);
    const devA = await seedDevice(r.store, { schoolId: 'school-a' });
    const alert = await seedAlert(r.store, { device: devA, severity: 5, time: MONDAY_10 });
    expect(alert.schoolId).toBe('school-a');
    expect(await r.rota.start(alert)).toBe(true);
    expect(await r.told(alert.id)).toEqual(['a-dsl@a.test']);
    // A's escalation time (5 minutes), not the trust's 15.
    r.clock.now = MONDAY_10 + 5 * MIN;
    await r.rota.stepAll();
    expect(await r.told(alert.id)).toEqual(['a-dsl@a.test', 'a-deputy@a.test']);

    const devDefault = await seedDevice(r.store);
    const other = await seedAlert(r.store, { device: devDefault, severity: 5, time: r.clock.now });
    await r.rota.start(other);
    expect(await r.told(other.id)).toEqual(['trust-dsl@trust.test']);
  });

  it('a running chain is not reshuffled; a layer removed mid-chain tells nobody else (never the trust’s same-id contact)', async () => {
    const r = await runner(MONDAY_10);
    const devA = await seedDevice(r.store, { schoolId: 'school-a' });
    const a1 = await seedAlert(r.store, { device: devA, severity: 5, time: MONDAY_10 });
    await r.rota.start(a1);
    // The layer's second contact changes address: the chain keeps its contact ids, the new address is used.
    await r.store.kv<SchoolNotifyLayer>(SCHOOL_LAYERS_NS).put('school-a', {
      ...layerA,
      contacts: [
        layerA.contacts[0]!,
        { id: 'a-deputy', name: 'A deputy', email: 'new-deputy@a.test', role: 'dsl' },
      ],
      rota: { ...layerA.rota, bands: [{ minSeverity: 4, window: 'any', contacts: ['a-deputy'] }] },
    });
    r.clock.now = MONDAY_10 + 5 * MIN;
    await r.rota.stepAll();
    expect(await r.told(a1.id)).toEqual(['a-dsl@a.test', 'new-deputy@a.test']);

    const a2 = await seedAlert(r.store, { device: devA, severity: 5, time: r.clock.now, seq: 10 });
    await r.rota.start(a2);
    expect(await r.told(a2.id)).toEqual(['new-deputy@a.test']);
    const a3 = await seedAlert(r.store, { device: devA, severity: 5, time: r.clock.now, seq: 20 });
    // A chain of two from a layer, then the layer goes: its next step, A's `dsl1`, is skipped —
    // not sent to the trust's `dsl1` (contact ids are the layer's own).
    await r.store.kv<SchoolNotifyLayer>(SCHOOL_LAYERS_NS).put('school-a', {
      ...layerA,
      rota: { ...layerA.rota, bands: [{ minSeverity: 4, window: 'any', contacts: ['a-deputy', 'dsl1'] }] },
    });
    await r.rota.start(a3);
    expect(await r.told(a3.id)).toEqual(['a-deputy@a.test']);
    await r.store.kv<SchoolNotifyLayer>(SCHOOL_LAYERS_NS).del('school-a');
    // (Without its layer the chain waits the trust's 15 minutes.)
    r.clock.now += 15 * MIN;
    await r.rota.stepAll();
    expect(await r.told(a3.id)).toEqual(['a-deputy@a.test']);
    expect((await r.store.kv<RotaState>('notify-rota').get(a3.id))?.told).toBe(2);
    expect(await r.told()).not.toContain('trust-dsl@trust.test');
    expect((await r.store.kv<RotaState>('notify-rota').get(a3.id))?.layer).toBe('school-a');
  });
});
