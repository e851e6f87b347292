// Screens device text (window titles, URLs, USB labels, hostnames, ...) against the safeguarding
// keyword library, so text that matches (in the device's age band, at ANY severity, whatever the
// agent flagged or did not flag) is marked and shown to the DSL only (devices/views.ts hides it from
// everyone else). The marks are computed once, at ingest, and stored with the event.
//
// One compiled matcher per distinct (age band, custom terms): the Aho–Corasick automaton is built
// once and shared by every device on that policy; ingest only scans (one table lookup per
// character).
import { createMatcher, type Matcher } from '@custodian/keywords';
import type { Policy } from '@custodian/policy';
import type { LiveHub } from '../live/hub.ts';
import type { PolicyService } from '../policy/service.ts';

/**
 * Marks device text. `paths(value)` walks a plain object (an event, a status, a device record)
 * and returns the dotted paths (`activeWindow.title`, `usbVolumes.0.label`) of every string that
 * matches the library. An empty list means "screened, nothing matched".
 */
export interface Screen {
  matches(text: string): boolean;
  paths(value: unknown): string[];
}

/** Matchers kept at once (distinct age band + custom terms combinations in use). */
const MAX_MATCHERS = 8;
/** Strings shorter than this cannot hold a library term. */
const MIN_TEXT = 2;

/** Recent answers kept per screen: a fleet repeats its titles ("New Tab", "Inbox", app names). */
const MEMO_ENTRIES = 4096;
/** Longer strings are matched every time rather than kept. */
const MEMO_MAX_CHARS = 512;

export function screenFrom(matcher: Matcher): Screen {
  const memo = new Map<string, boolean>();
  const matches = (text: string) => {
    if (text.length < MIN_TEXT) return false;
    const known = memo.get(text);
    if (known !== undefined) return known;
    const hit = matcher.match(text).length > 0;
    if (text.length <= MEMO_MAX_CHARS) {
      if (memo.size >= MEMO_ENTRIES) memo.clear();
      memo.set(text, hit);
    }
    return hit;
  };
  return {
    matches,
    paths(value: unknown): string[] {
      const out: string[] = [];
      walk(value, '', out, matches);
      return out;
    },
  };
}

function walk(value: unknown, path: string, out: string[], matches: (t: string) => boolean): void {
  if (typeof value === 'string') {
    if (matches(value)) out.push(path);
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walk(value[i], path ? `${path}.${i}` : String(i), out, matches);
    return;
  }
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    for (const key of Object.keys(value)) {
      const v = (value as Record<string, unknown>)[key];
      if (typeof v === 'string' || (typeof v === 'object' && v !== null))
        walk(v, path ? `${path}.${key}` : key, out, matches);
    }
  }
}

/**
 * The policy's matcher. A custom term the matcher cannot use ("!!!": nothing to match) is left out
 * rather than failing every device's Hello; the agent refuses such a policy itself.
 */
function compile(policy: Pick<Policy, 'capture'>): Matcher {
  const { ageBand, customTerms } = policy.capture;
  try {
    return createMatcher({ ageBand, customTerms });
  } catch {
    return createMatcher({ ageBand, customTerms: customTerms.filter((t) => /[\p{L}\p{N}]/u.test(t.term)) });
  }
}

function keyOf(policy: Pick<Policy, 'capture'>): string {
  return JSON.stringify([policy.capture.ageBand, policy.capture.customTerms]);
}

/**
 * The screens of every device: `forPolicy` compiles (or reuses) a matcher, `forDevice` follows the
 * device's effective policy, `cached` answers synchronously (live status, device views) with the
 * device's last known screen or the default policy's.
 */
export class TextScreens {
  private readonly matchers = new Map<string, Screen>();
  private readonly byDevice = new Map<string, Screen>();
  private fallback: Screen | undefined;
  private readonly policy: PolicyService;

  constructor(options: { policy: PolicyService; live: LiveHub }) {
    this.policy = options.policy;
    options.live.on('policy', ({ scope, devices }) => {
      if (devices) {
        // A school or group layer: every device it covers that has a screen here (the others
        // compile theirs at their Hello).
        for (const id of devices) {
          if (!this.byDevice.has(id)) continue;
          void this.forDevice(id).catch(() => undefined);
        }
      } else if (scope === 'default') {
        this.byDevice.clear();
        // The previous default's screen stays until the new one is compiled: init() reads the
        // store, and a request in between must not find no screen at all (a 500 on PostgreSQL).
        void this.init().catch(() => undefined);
      } else {
        this.byDevice.delete(scope);
        void this.forDevice(scope).catch(() => undefined);
      }
    });
  }

  /** Compiles the default policy's screen (call once at start, after the policy service). */
  async init(): Promise<void> {
    this.fallback = this.forPolicy(await this.policy.getDefault());
  }

  forPolicy(policy: Pick<Policy, 'capture'>): Screen {
    const key = keyOf(policy);
    let s = this.matchers.get(key);
    if (s) {
      // LRU: most recently used last.
      this.matchers.delete(key);
      this.matchers.set(key, s);
      return s;
    }
    s = screenFrom(compile(policy));
    this.matchers.set(key, s);
    if (this.matchers.size > MAX_MATCHERS) this.matchers.delete(this.matchers.keys().next().value as string);
    return s;
  }

  /** The device's screen, from `policy` when the caller has its effective policy already. */
  async forDevice(deviceId: string, policy?: Pick<Policy, 'capture'>): Promise<Screen> {
    const s = this.forPolicy(policy ?? (await this.policy.effective(deviceId)));
    this.byDevice.set(deviceId, s);
    return s;
  }

  /** The device's last known screen, else the default policy's (compiled at init). */
  cached(deviceId: string): Screen {
    const s = this.byDevice.get(deviceId) ?? this.fallback;
    if (!s) throw new Error('TextScreens.init() was not called');
    return s;
  }

  /** Devices whose screen is remembered (at most one entry per enrolled device). */
  get size(): number {
    return this.byDevice.size;
  }
}
