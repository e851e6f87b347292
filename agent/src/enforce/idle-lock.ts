// The idle-lock enforcer: measures idle time, warns, locks at the policy threshold, retries a
// failed lock and raises it to the collector (a device that cannot lock is a compliance problem
// IT must see), and reports when the user is active again. Report-only (demo agent, exempted
// device) measures and reports the same way but never locks.
import type { Policy } from '@custodian/policy';
import { type ICommand, v1 } from '@custodian/protocol';
import type { AgentComponent, AgentContext, CapabilityStatus } from '../core/contracts.ts';
import { createIdleProbe, type IdleProbe } from '../platform/idle.ts';
import type { ScreenLocker } from '../platform/lock.ts';
import { type CachedScreenLocker, sharedScreenLocker, withLockStateCache } from '../platform/lock-state.ts';
import { createNotifier, type IdleNotifier } from '../platform/notify.ts';

export interface IdleLockOptions {
  idle?: IdleProbe;
  locker?: ScreenLocker;
  /** Shows the OS notice at the warning point (not in report-only) and takes it down again. */
  notifier?: IdleNotifier;
  /**
   * Longest gap between two idle samples once the warning is due (and while warned, idle or
   * locked, to see the user come back). Default 2000 ms.
   */
  maxPollMs?: number;
  /**
   * While the user is active the idle time cannot reach the warning sooner than (warning point
   * − idle time now), since it grows no faster than the clock, so it is read again only then —
   * but at least this often (suspend/resume, clock jumps). Default 30000 ms.
   */
  maxActivePollMs?: number;
  /**
   * While active, how often the lock state is checked (a manual lock is reported as LOCKED).
   * Answers up to this old are taken from the probe shared with the window monitor, and a change
   * it sees is acted on at once. Default 5000 ms (the window monitor's LOCK_CHECK_MS).
   */
  lockCheckMs?: number;
  /** First retry delay after a failed lock; doubles per failure up to 60 s. Default 5000 ms. */
  retryMs?: number;
  /** After this many failed attempts in a row the lock capability reports unavailable. Default 3. */
  raiseAfterFailures?: number;
}

type Phase = 'active' | 'warned' | 'idle' | 'locked';

/** See the lock-only check in tick(). */
const LOCK_SHARE_SLACK_MS = 2_000;

const { State } = v1.IdleState;

export function createIdleLockEnforcer(ctx: AgentContext, options: IdleLockOptions = {}): AgentComponent {
  const maxPollMs = options.maxPollMs ?? 2_000;
  const retryMs = options.retryMs ?? 5_000;
  const raiseAfter = options.raiseAfterFailures ?? 3;
  const maxActivePollMs = Math.max(maxPollMs, options.maxActivePollMs ?? 30_000);
  const lockCheckMs = options.lockCheckMs ?? 5_000;
  let idle: IdleProbe | undefined = options.idle;
  let locker: CachedScreenLocker | undefined = options.locker && withLockStateCache(options.locker);
  /** Active phase: the idle time cannot reach the warning point before this (Date.now() ms). */
  let idleDueAt = 0;
  let unsubscribeLock: (() => void) | undefined;
  let unsubscribeTamper: (() => void) | undefined;
  let lastIdleMs = 0;
  let inTick = false;
  let idleCap: CapabilityStatus = { name: 'idle', available: false, reason: 'not started' };
  let lockCap: CapabilityStatus = { name: 'lock', available: false, reason: 'not started' };
  let phase: Phase = 'active';
  let failures = 0;
  let nextRetryAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let ticking: Promise<void> = Promise.resolve();
  let locking: Promise<string> | undefined;
  let unsubscribe: (() => void) | undefined;
  let lastIdleError = '';
  let notifier: IdleNotifier | undefined = options.notifier;
  let warningShown = false;

  const policy = (): Policy['idleLock'] => ctx.policy.current().idleLock;
  // Demo relaxation arrives through the policy (the agent's policy store lays report-only over
  // it unless --enforce), so the policy alone decides; ctx.demo only changes the wording.
  const reportOnly = (): boolean => policy().reportOnly;

  function setCap(next: CapabilityStatus): void {
    const prev = next.name === 'idle' ? idleCap : lockCap;
    if (prev.available === next.available && prev.reason === next.reason) return;
    if (next.name === 'idle') idleCap = next;
    else lockCap = next;
    ctx.capabilitiesChanged();
  }

  function schedule(ms: number): void {
    if (!running) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      inTick = true;
      ticking = tick()
        .catch((err) => ctx.log.error('idle-lock tick failed', { error: (err as Error).message }))
        .finally(() => {
          inTick = false;
        });
    }, ms);
  }

  async function emitState(state: number, idleMs: number, extra: { warning?: boolean } = {}): Promise<void> {
    await ctx.events.emit({
      idleState: {
        state,
        idleMs,
        warning: extra.warning ?? false,
        reportOnly: state === State.IDLE && reportOnly(),
      },
    });
  }

  /** Takes the notice down on activity, on a lock (ours or the user's) and on stop. */
  function dismissWarning(): Promise<void> {
    if (!warningShown || !notifier) return Promise.resolve();
    warningShown = false;
    return notifier
      .dismiss()
      .catch((err) => ctx.log.warn('idle warning not dismissed', { error: (err as Error).message }));
  }

  /** Lock state; unknown (the probe failed) counts as not locked, as before. */
  async function readLocked(maxAgeMs: number): Promise<boolean> {
    if (!locker) return false;
    try {
      return await locker.isLocked(maxAgeMs);
    } catch (err) {
      ctx.log.debug('lock state unknown', { error: (err as Error).message });
      return false;
    }
  }

  async function tick(): Promise<void> {
    const p = policy();
    if (!running) return;
    if (!p.enabled || !idle) return schedule(maxPollMs);
    const now = Date.now();
    if (phase === 'active' && now < idleDueAt) {
      // Far from the warning: no idle read needed yet, only a lock check. The window monitor
      // reads the shared probe every LOCK_CHECK_MS plus up to one window sample, so an answer
      // that old is taken (and a change it sees reaches onChange below at once).
      if (!(await readLocked(lockCheckMs + LOCK_SHARE_SLACK_MS)))
        return schedule(Math.min(lockCheckMs, idleDueAt - now));
    }
    idleDueAt = 0;
    let idleMs: number;
    try {
      idleMs = await idle.idleMs();
      lastIdleMs = idleMs;
      lastIdleError = '';
      setCap({ name: 'idle', available: true, reason: `measured with ${idle.method}` });
    } catch (err) {
      const msg = (err as Error).message;
      if (msg !== lastIdleError) ctx.log.warn('idle time unavailable', { error: msg });
      lastIdleError = msg;
      setCap({ name: 'idle', available: false, reason: msg });
      return schedule(maxPollMs);
    }
    // Active: the shared answer is recent enough (see lockCheckMs); otherwise read it now.
    const locked = await readLocked(phase === 'active' ? lockCheckMs : 0);
    const thresholdMs = p.idleLockSeconds * 1000;
    const warnAtMs = p.warningSeconds > 0 ? thresholdMs - p.warningSeconds * 1000 : thresholdMs;

    if (locked) {
      void dismissWarning();
      if (phase !== 'locked') {
        phase = 'locked';
        await emitState(State.LOCKED, idleMs);
      }
      return schedule(Math.min(1_000, maxPollMs));
    }
    if (phase === 'locked' || idleMs < warnAtMs) {
      void dismissWarning();
      if (phase !== 'active') await emitState(State.ACTIVE, idleMs);
      phase = 'active';
      failures = 0;
      nextRetryAt = 0;
      const untilWarn = Math.min(warnAtMs - idleMs, maxActivePollMs);
      idleDueAt = Date.now() + untilWarn;
      return schedule(clamp(Math.min(untilWarn, lockCheckMs), 200, maxActivePollMs));
    }
    if (phase === 'active' && idleMs < thresholdMs) {
      phase = 'warned';
      await emitState(State.IDLE, idleMs, { warning: true });
      if (notifier && !reportOnly()) {
        warningShown = true;
        notifier
          .show(Math.ceil((thresholdMs - idleMs) / 1000))
          .catch((err) => ctx.log.warn('idle warning not shown', { error: (err as Error).message }));
      }
    }
    if (idleMs >= thresholdMs && (phase === 'active' || phase === 'warned')) {
      phase = 'idle';
      await emitState(State.IDLE, idleMs);
      if (reportOnly()) {
        ctx.log.info('idle threshold crossed; report-only, not locking', {
          exemption: p.exemptionReason || undefined,
          demo: ctx.demo,
        });
      }
    }
    if (phase === 'idle' && !reportOnly() && Date.now() >= nextRetryAt) {
      await attemptLock(idleMs, true).catch(() => undefined /* reported as LockFailed inside */);
    }
    return schedule(
      phase === 'idle' ? Math.min(1_000, maxPollMs) : clamp(thresholdMs - idleMs, 200, maxPollMs),
    );
  }

  /**
   * The lock we made ended or was hidden without an unlock (the locker killed, its window unmapped):
   * the policy still says locked, so lock again, and the ScreenLocked event says why (issue 11).
   */
  function relock(what: string): void {
    ctx.log.warn('screen lock ended without an unlock', { what });
    if (!running || !policy().enabled || reportOnly()) return;
    attemptLock(lastIdleMs, true, what).catch(() => undefined /* reported as LockFailed inside */);
  }

  /** One lock attempt; every outcome becomes an event. Rejects with the failure. */
  function attemptLock(idleMs: number, byPolicy: boolean, relockReason = ''): Promise<string> {
    if (locking) return locking;
    const l = locker;
    const attempt = failures + 1;
    locking = (async () => {
      if (!l) throw new Error('no screen locker');
      try {
        const method = await l.lock();
        await ctx.events.emit({
          screenLocked: { method, idleMs, byPolicy, attempt, ...(relockReason ? { relockReason } : {}) },
        });
        phase = 'locked';
        void dismissWarning();
        failures = 0;
        nextRetryAt = 0;
        setCap({ name: 'lock', available: true, reason: `locks with ${method}` });
        return method;
      } catch (err) {
        failures = attempt;
        nextRetryAt = Date.now() + Math.min(60_000, retryMs * 2 ** (attempt - 1));
        const e = err as Error & { details?: { method?: string } };
        const method = e.details?.method ?? l.methods.join(',');
        await ctx.events.emit({ lockFailed: { method, reason: e.message.slice(0, 500), attempt } });
        ctx.log.warn('screen lock failed', { method, attempt, error: e.message });
        if (failures >= raiseAfter) {
          setCap({
            name: 'lock',
            available: false,
            reason: `locking failed ${failures} times in a row: ${e.message.slice(0, 200)}`,
          });
        }
        throw err;
      }
    })().finally(() => {
      locking = undefined;
    });
    return locking;
  }

  return {
    name: 'idle-lock',
    async start() {
      idle ??= await createIdleProbe();
      locker ??= await sharedScreenLocker();
      notifier ??= await createNotifier();
      const [ia, la] = await Promise.all([idle.availability(), locker.availability()]);
      idleCap = { name: 'idle', available: ia.available, reason: ia.reason };
      lockCap = { name: 'lock', available: la.available, reason: la.reason };
      ctx.capabilitiesChanged();
      if (ctx.demo && reportOnly()) {
        ctx.log.info('demo mode: idle lock is report-only (the agent measures idle time but will not lock)');
      }
      unsubscribe = ctx.policy.onChange(() => {
        idleDueAt = 0; // the threshold may have moved
        schedule(0);
      });
      // A lock or unlock seen by the window monitor's reads is acted on now, not at the next check.
      unsubscribeLock = locker.onChange(() => {
        if (inTick) return; // the running tick acts on what it read
        idleDueAt = 0;
        schedule(0);
      });
      unsubscribeTamper = locker.onTamper?.(relock);
      running = true;
      schedule(0);
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      unsubscribe?.();
      unsubscribeLock?.();
      unsubscribeTamper?.();
      await ticking;
      await locking?.catch(() => undefined);
      await dismissWarning();
    },
    capabilities() {
      return [idleCap, lockCap];
    },
    async onCommand(command: ICommand) {
      if (command.kind !== v1.Command.Kind.LOCK_NOW) return false;
      if (!locker) return false;
      let idleMs = 0;
      try {
        idleMs = idle ? await idle.idleMs() : 0;
      } catch {
        // The lock is what was asked for; the idle figure on the event is informational only.
      }
      await attemptLock(idleMs, false);
      return true;
    },
  };
}

function clamp(v: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, v));
}
