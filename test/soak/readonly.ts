// Power-loss style, read-only half (issue 21 §1): the collector's data directory is an ext4 on a
// loop device mounted errors=remount-ro, and mid-stream the kernel is told the filesystem has an
// error (/sys/fs/ext4/<dev>/trigger_fs_error): ext4 does what it does after a real disk error,
// aborts its journal and turns read-only under the open files (EROFS, "emergency_ro"). A plain
// `mount -o remount,ro` is refused (EBUSY) while files are open for writing, which is why the
// disk campaign could not do it. While read-only: health must answer 503 CUST_ERR_STORAGE naming
// it, and nothing not durable may be acked (the agent keeps its outbox). An ext4 that went
// read-only this way cannot be remounted read-write; recovery is umount, e2fsck, mount: the
// campaign first tries it with the collector running (it closes its store while failing), and
// if the umount is refused (busy) does what an operator must: stop the collector, then the same.
// Afterwards: every event once, every screenshot stored, no Gap, the outbox empty.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AgentProcess, agentCli, enrolAgent, startAgent } from '../support/agent-process.ts';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { storedTimeline } from '../support/collector-store.ts';
import { attachLoop, canUseLoopDevices, type LoopDevice, makeImage } from '../support/loopdev.ts';
import { rng } from '../support/rng.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/wait-for.ts';
import { checkStoredOnce, queueBacklog } from './disk.ts';
import type { SoakCampaign, SoakOutcome } from './types.ts';

const HEADLESS = { DISPLAY: '', WAYLAND_DISPLAY: '' };

export interface ReadonlyOptions {
  seed: number;
  rounds: number;
  eventsPerRound: number;
  screenshotsPerRound: number;
  /** How long the filesystem stays read-only before recovery starts (0.5-1.5x, seeded). */
  holdMs: number;
  imageMiB: number;
  log?: (line: string) => void;
}

export interface ReadonlyReport {
  seed: number;
  rounds: number;
  events: number;
  screenshots: number;
  readonlyEpisodes: number;
  /** Health answers while read-only, by status and code ("503 CUST_ERR_STORAGE read-only filesystem"). */
  healthWhileReadonly: Record<string, number>;
  /** Rounds whose read-only filesystem was unmounted, checked and mounted with the collector running. */
  recoveredRunning: number;
  /** Rounds where the umount was refused and the collector had to be stopped first. */
  operatorRestarts: number;
  /** From "writable again" (mounted after e2fsck) to the backlog delivered, per round (ms). */
  recoveryMs: number[];
  /** Events the agent still held (outbox) the moment the filesystem went read-only, summed. */
  outboxAtReadonly: number;
  durationMs: number;
  problems: string[];
}

function sh(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`.trim() };
}

export async function readonlyCampaign(o: ReadonlyOptions): Promise<ReadonlyReport> {
  const log = o.log ?? (() => undefined);
  const r = rng(o.seed);
  const started = Date.now();
  const report: ReadonlyReport = {
    seed: o.seed,
    rounds: o.rounds,
    events: 0,
    screenshots: 0,
    readonlyEpisodes: 0,
    healthWhileReadonly: {},
    recoveredRunning: 0,
    operatorRestarts: 0,
    recoveryMs: [],
    outboxAtReadonly: 0,
    durationMs: 0,
    problems: [],
  };
  const can = canUseLoopDevices();
  const missing = missingTools(['e2fsck', 'umount']);
  if (!can.ok || missing.length) {
    report.problems.push(
      `needs loop devices and e2fsck: ${can.reason || `${missing.join(', ')} missing`}: not run`,
    );
    return report;
  }
  const mnt = mkdtempSync(join(tmpdir(), 'custodian-soak-ro-'));
  const dev: LoopDevice = attachLoop(makeImage('ext4', { sizeMb: o.imageMiB, label: 'CUSTDATA' }));
  const mount = () => execFileSync('mount', ['-o', 'errors=remount-ro', dev.path, mnt]);
  mount();
  let collector: CollectorProcess | undefined;
  let agent: AgentProcess | undefined;
  const titles = new Set<string>();
  const blobs = new Set<string>();
  try {
    collector = await startCollector({ dataDir: join(mnt, 'data'), env: { CUSTODIAN_LOG_LEVEL: 'warn' } });
    const c = collector;
    const enrolled = await enrolAgent({ collector: c });
    const blobDir = join(enrolled.dataDir, 'blobs');
    const status = async () =>
      JSON.parse(await readFile(join(enrolled.dataDir, 'status.json'), 'utf8').catch(() => '{}')) as {
        outbox?: { depth: number };
        link?: { status: string };
      };
    const delivered = async () =>
      (await status()).outbox?.depth === 0 &&
      (await readdir(blobDir)).filter((n) => n.endsWith('.json')).length === 0 &&
      (await status()).link?.status === 'connected';

    for (let round = 1; round <= o.rounds; round++) {
      await queueBacklog(
        enrolled.dataDir,
        `ro${round}`,
        o.eventsPerRound,
        o.screenshotsPerRound,
        titles,
        blobs,
      );
      report.events += o.eventsPerRound;
      report.screenshots += o.screenshotsPerRound;
      agent = await startAgent({ dataDir: enrolled.dataDir, env: HEADLESS });
      // Mid-stream: the agent connects and starts sending its backlog within about a second.
      await new Promise((res) => setTimeout(res, 500 + r() * 1_000));

      // Read-only under the collector's open files, as after a disk error.
      execFileSync('sh', ['-c', `echo soak-readonly > /sys/fs/ext4/${dev.name}/trigger_fs_error`]);
      report.readonlyEpisodes++;
      report.outboxAtReadonly += (await status()).outbox?.depth ?? 0;
      const holdUntil = Date.now() + o.holdMs * (0.5 + r());
      let sawStorage = false;
      while (Date.now() < holdUntil) {
        const h = await fetch(`${c.url}/api/v1/health`).then(
          async (res) => {
            const body = (await res.json().catch(() => ({}))) as {
              error?: { code?: string; message?: string };
            };
            const why = /read-only filesystem/.test(body.error?.message ?? '') ? ' read-only filesystem' : '';
            return `${res.status} ${body.error?.code ?? 'ok'}${why}`;
          },
          () => 'no answer',
        );
        report.healthWhileReadonly[h] = (report.healthWhileReadonly[h] ?? 0) + 1;
        if (h === '503 CUST_ERR_STORAGE read-only filesystem') sawStorage = true;
        await new Promise((res) => setTimeout(res, 200));
      }
      if (!sawStorage)
        report.problems.push(
          `round ${round}: health never answered 503 CUST_ERR_STORAGE naming the read-only filesystem`,
        );

      // Recovery: umount, e2fsck, mount; with the collector running if the umount is allowed.
      let um = sh('umount', [mnt]);
      for (let i = 0; !um.ok && i < 10; i++) {
        await new Promise((res) => setTimeout(res, 300));
        um = sh('umount', [mnt]);
      }
      const running = um.ok;
      if (!running) {
        log(`readonly: round ${round}: umount refused (${um.out}); stopping the collector first`);
        await c.stop();
        um = sh('umount', [mnt]);
        if (!um.ok) throw new Error(`umount ${mnt} failed with the collector stopped: ${um.out}`);
      }
      const fsck = spawnSync('e2fsck', ['-fy', dev.path], { encoding: 'utf8' });
      if ((fsck.status ?? 8) >= 4)
        report.problems.push(
          `round ${round}: e2fsck left errors (exit ${fsck.status}): ${fsck.stdout.slice(-300)}`,
        );
      mount();
      const writable = Date.now();
      if (running) report.recoveredRunning++;
      else {
        report.operatorRestarts++;
        await c.restart();
      }
      try {
        await waitFor(delivered, `round ${round}: the backlog delivered once writable again`, 120_000, 250);
      } catch (err) {
        const health = await fetch(`${c.url}/api/v1/health`).then(
          (res) => res.status,
          () => 'no answer',
        );
        report.problems.push(
          `round ${round}: ${(err as Error).message} (collector ${running ? 'left running' : 'restarted'}, health ${health}); restarted by hand`,
        );
        await c.restart();
        await waitFor(delivered, `round ${round}: the backlog delivered after a restart`, 120_000, 250);
      }
      report.recoveryMs.push(Date.now() - writable);
      await agent.stop();
      agent = undefined;
      log(
        `readonly: round ${round}/${o.rounds} delivered (${running ? 'collector kept running' : 'collector restarted'})`,
      );
    }
    const st = JSON.parse((await agentCli(['status', '--json', '--data-dir', enrolled.dataDir])).stdout) as {
      outboxDepth: number;
    };
    if (st.outboxDepth !== 0) report.problems.push(`outbox holds ${st.outboxDepth} events at the end`);
    if ((await c.stop()) !== 0) report.problems.push('collector did not exit 0 on SIGTERM');
    const records = await storedTimeline({ dataDir: c.dataDir, keyFile: c.keyFile }, enrolled.deviceId);
    report.problems.push(...checkStoredOnce(records, titles, blobs, report.screenshots));
    await enrolled.cleanup();
  } finally {
    await agent?.kill9();
    await collector?.cleanup();
    sh('umount', ['-l', mnt]);
    sh('losetup', ['-d', dev.path]);
    rmSync(mnt, { recursive: true, force: true });
    rmSync(dev.image, { force: true });
    report.durationMs = Date.now() - started;
  }
  return report;
}

/** `pnpm soak readonly`: the data directory's filesystem turns read-only mid-stream. */
export const readonlySoak: SoakCampaign = {
  name: 'readonly',
  defaults: { rounds: 6, eventsPerRound: 20_000, screenshotsPerRound: 4, holdMs: 3_000, imageMiB: 256 },
  async run(p, log) {
    return readonlyOutcome(
      await readonlyCampaign({
        seed: p.seed,
        rounds: p['rounds']!,
        eventsPerRound: p['eventsPerRound']!,
        screenshotsPerRound: p['screenshotsPerRound']!,
        holdMs: p['holdMs']!,
        imageMiB: p['imageMiB']!,
        log,
      }),
    );
  },
};

export function readonlyOutcome(r: ReadonlyReport): SoakOutcome {
  const sorted = [...r.recoveryMs].sort((a, b) => a - b);
  return {
    title: "Soak: the collector's data directory turns read-only mid-stream (issue 21 §1, power-loss style)",
    rows: [
      {
        metric: 'rounds (a backlog streaming when the filesystem turns read-only)',
        value: r.rounds,
        unit: '',
      },
      { metric: 'diagnostic events', value: r.events, unit: '' },
      { metric: 'screenshots', value: r.screenshots, unit: '' },
      {
        metric: 'events in the agent outbox at the moment it turned read-only (sum)',
        value: r.outboxAtReadonly,
        unit: '',
      },
      {
        metric: 'health answers while read-only: 503 CUST_ERR_STORAGE naming it',
        value: r.healthWhileReadonly['503 CUST_ERR_STORAGE read-only filesystem'] ?? 0,
        unit: '',
      },
      {
        metric: 'rounds recovered with the collector left running (umount, e2fsck, mount)',
        value: r.recoveredRunning,
        unit: '',
      },
      {
        metric: 'rounds where the collector had to be stopped to unmount',
        value: r.operatorRestarts,
        unit: '',
      },
      {
        metric: 'writable again → backlog delivered, worst round',
        value: (sorted.at(-1) ?? 0) / 1000,
        unit: 's',
      },
      {
        metric: 'problems (lost, duplicated, Gap, acked while not durable, no 503, outbox not empty)',
        value: r.problems.length,
        unit: '',
        target: '0',
      },
    ],
    notes: [
      `Health answers while read-only, all rounds: ${Object.entries(r.healthWhileReadonly)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; ')}.`,
      'The data directory is an ext4 on a loop device mounted errors=remount-ro; each round the agent streams a fresh backlog and, after a seeded wait, /sys/fs/ext4/<dev>/trigger_fs_error makes ext4 act as after a disk error: journal aborted, read-only under the open files (EROFS). `mount -o remount,ro` is refused (EBUSY) while files are open for writing, and an ext4 that went read-only this way refuses `remount,rw`: the only way back is umount, e2fsck, mount. The collector closes its store while it fails (reopening once a second), so the umount is tried with it running; where it is refused the collector is stopped first (what an operator does: collector/README.md).',
      "Checked at the end in the stopped collector's store: every event once, no seq missing, no Gap, one flag per screenshot; the agent's outbox empty. An event acked while not durable would be missing: the agent deletes what is acked.",
      'Not covered: a torn write on a real disk after power loss (the loop image lives on the host filesystem), and PostgreSQL whose server turns read-only (its own recovery).',
      "Found and fixed by this campaign: the store's reopen (tried once a second while failing) created a fresh empty LevelDB in the bare mountpoint while the filesystem was unmounted for e2fsck, the collector acked into it, and 1,000 acked events were missing afterwards (seed 31, 2 rounds of 5,000 events); reopens now never create a database (collector/test/store/level-read-only.test.ts). Health did not name the cause either (the HTTP layer hides a storage error's message; the first failed write may see EIO; access() does not see ext4's emergency read-only state): now a write probe and fixed words.",
    ],
    problems: r.problems,
  };
}
