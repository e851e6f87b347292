// The soak campaigns of issue 21 (test/soak/, `pnpm soak`) in miniature, so CI runs every one
// of them end to end: a few kill -9 cycles of collector and agent with events and screenshots in
// flight, kills during a few enrolments, a few thousand fuzzed frames, one simulated offline school day, a
// reconnection storm of 50 agents, 8 live feeds with 20 agents, two rounds of a full disk, two of a
// data directory turning read-only. The full runs' figures are in BENCHMARKS.md.
import { describe, expect, it } from 'vitest';
import { SOAK_MARKER, soakTail, withSoakBlock } from '../soak/benchmarks-file.ts';
import { consoleLoadCampaign } from '../soak/console-load.ts';
import { crashCampaign } from '../soak/crash.ts';
import { diskCampaign } from '../soak/disk.ts';
import { enrolCrashCampaign } from '../soak/enrol-crash.ts';
import { fuzzCampaign } from '../soak/fuzz.ts';
import { offlineCampaign } from '../soak/offline.ts';
import { readonlyCampaign } from '../soak/readonly.ts';
import { reconnectCampaign } from '../soak/reconnect.ts';

describe('soak campaigns, smoke size', () => {
  it('crash: 3 kill -9 cycles of each side lose, duplicate and damage nothing', {
    timeout: 120_000,
  }, async () => {
    const r = await crashCampaign({ seed: 21, cycles: 3, eventsPerCycle: 300, screenshotsPerCycle: 1 });
    console.log(`soak smoke crash: ${JSON.stringify({ ...r, problems: r.problems.length })}`);
    expect(r.problems).toEqual([]);
    expect(r.collectorKills).toBe(3);
    expect(r.agentKills).toBe(3);
    expect(r.events).toBe(900);
    expect(r.screenshots).toBe(3);
    // The diagnostic events plus what the agent itself reported across 4 starts.
    expect(r.timelineRecords).toBeGreaterThan(900 + 3);
  });

  it('enrol-crash: kills during enrolment leave no half-enrolled device, orphan or reused code', {
    timeout: 240_000,
  }, async () => {
    const r = await enrolCrashCampaign({ seed: 12, cycles: 8, eventsPerReenrol: 20 });
    console.log(`soak smoke enrol-crash: ${JSON.stringify({ ...r, problems: r.problems })}`);
    expect(r.problems).toEqual([]);
    expect(r.collectorKills + r.agentKills + r.finishedBeforeKill).toBe(8);
    expect(r.collectorKills + r.agentKills).toBeGreaterThan(0);
    expect(r.byPath.school + r.byPath.byod + r.byPath.replace + r.byPath.reinstall).toBe(8);
  });

  it('fuzz: the collector stays up and names every close', { timeout: 120_000 }, async () => {
    const r = await fuzzCampaign({
      seed: 7,
      connections: 200,
      framesPerConnection: 30,
      devices: 16,
      rssLimitMiB: 400,
    });
    console.log(`soak smoke fuzz: ${JSON.stringify({ ...r, problems: r.problems.length })}`);
    expect(r.problems).toEqual([]);
    expect(r.connections).toBe(200);
    expect(r.structured).toBeGreaterThan(1_000);
    expect(r.raw).toBeGreaterThan(0);
    expect(Object.keys(r.closeCodes)).toContain('MALFORMED');
  });

  it('offline: a simulated school day is delivered whole; a small bound drops oldest windows only, with Gaps', {
    timeout: 120_000,
  }, async () => {
    const r = await offlineCampaign({
      seed: 5,
      days: 1,
      windowEverySec: 30,
      flagsPerDay: 2,
      smallBound: 600,
    });
    console.log(`soak smoke offline: ${JSON.stringify({ ...r, problems: r.problems.length })}`);
    expect(r.problems).toEqual([]);
    expect(r.flags).toBe(2);
    expect(r.heartbeats).toBe(420);
    expect(r.boundedDropped).toBeGreaterThan(0);
    expect(r.boundedDroppedByKind).toEqual({ window: r.boundedDropped });
    expect(r.boundedGaps).toBeGreaterThan(0);
  });

  it('reconnect: 50 agents reconnecting at once after a kill -9 settle with every event once', {
    timeout: 120_000,
  }, async () => {
    const r = await reconnectCampaign({ seed: 9, devices: 50, eventsPerDevice: 300 });
    console.log(`soak smoke reconnect: ${JSON.stringify({ ...r, problems: r.problems.length })}`);
    expect(r.problems).toEqual([]);
    expect(r.events).toBe(15_000);
    expect(r.settleMs).toBeGreaterThan(0);
    expect(r.settleMs).toBeLessThan(60_000);
  });

  it('console load: live feeds see every probe event; device list and alert queue answer', {
    timeout: 120_000,
  }, async () => {
    const r = await consoleLoadCampaign({
      seed: 2,
      agents: 20,
      consoles: 8,
      heartbeatEverySec: 2,
      samples: 5,
    });
    console.log(`soak smoke console-load: ${JSON.stringify({ ...r, problems: r.problems.length })}`);
    expect(r.problems).toEqual([]);
    expect(r.connected).toBe(20);
    expect(r.feedsOpen).toBe(8);
    expect(r.loaded.lagSamples).toBeGreaterThanOrEqual(5 * 8 * 0.9);
    expect(r.loaded.devicesP95).toBeGreaterThan(0);
  });

  it('disk full: the collector refuses while full, recovers by itself once there is room, and loses nothing', {
    timeout: 240_000,
  }, async () => {
    const r = await diskCampaign({
      seed: 857316717,
      rounds: 2,
      eventsPerRound: 20_000,
      screenshotsPerRound: 2,
      holdMs: 2000,
      tmpfsMiB: 96,
    });
    console.log(`soak smoke disk: ${JSON.stringify({ ...r, problems: r.problems.length })}`);
    expect(r.problems).toEqual([]);
    expect(r.fullEpisodes).toBe(2);
    expect(r.events).toBe(40_000);
    // The full disk reached the collector (else nothing was proven), and it never needed a restart.
    expect(r.storageErrors + r.storageCloses).toBeGreaterThan(0);
    expect(r.wedged).toBe(0);
    expect(r.collectorExits).toBe(0);
  });

  it('read-only data directory: 503 naming it while read-only, back after umount/e2fsck/mount, nothing lost', {
    timeout: 240_000,
  }, async () => {
    const r = await readonlyCampaign({
      seed: 31,
      rounds: 2,
      eventsPerRound: 5_000,
      screenshotsPerRound: 1,
      holdMs: 1500,
      imageMiB: 128,
    });
    console.log(`soak smoke readonly: ${JSON.stringify({ ...r, problems: r.problems })}`);
    expect(r.problems).toEqual([]);
    expect(r.readonlyEpisodes).toBe(2);
    expect(r.events).toBe(10_000);
    expect(r.healthWhileReadonly['503 CUST_ERR_STORAGE read-only filesystem']).toBeGreaterThan(0);
    expect(r.recoveredRunning + r.operatorRestarts).toBe(2);
  });

  it('BENCHMARKS.md: a campaign replaces its own block, and pnpm bench keeps the soak part', () => {
    const bench = '# Benchmarks\n\n## Collector ingest\n\n| a |\n';
    const once = withSoakBlock(bench, 'crash', '## crash v1');
    expect(once.startsWith(bench.trimEnd())).toBe(true);
    expect(once).toContain(SOAK_MARKER);
    const twice = withSoakBlock(withSoakBlock(once, 'fuzz', '## fuzz v1'), 'crash', '## crash v2');
    expect(twice).toContain('## crash v2');
    expect(twice).not.toContain('## crash v1');
    expect(twice).toContain('## fuzz v1');
    expect(twice.indexOf('## crash v2')).toBeLessThan(twice.indexOf('## fuzz v1'));
    expect(soakTail(twice).startsWith(SOAK_MARKER)).toBe(true);
    expect(soakTail(twice)).toContain('## fuzz v1');
    expect(soakTail(bench)).toBe('');
  });
});
