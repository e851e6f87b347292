// Contracts between the agent's parts. Monitors, enforcers and capture produce events
// through an EventSink; they never touch the outbox or the link directly.

import type { Policy } from '@custodian/policy';
import type { ICommand, IEvent } from '@custodian/protocol';

/** An Event without seq and time: exactly one payload field set. The outbox stamps the rest. */
export type EventPayload = Omit<IEvent, 'seq' | 'timeMs'>;

export interface EventSink {
  /** Persists the event to the outbox (durably) before resolving. */
  emit(payload: EventPayload): Promise<void>;
}

export interface BlobSink {
  /** Persists a blob (e.g. a PNG) for upload and returns its blob id (UUID). */
  putBlob(data: Uint8Array, contentType: string): Promise<string>;
}

export interface PolicySource {
  current(): Policy;
  /** Called after a new policy has been validated, persisted and made current. Returns an unsubscribe. */
  onChange(listener: (policy: Policy, previous: Policy) => void): () => void;
}

/** Names of the capabilities the agent reports to the collector. */
export type CapabilityName =
  | 'active_window'
  | 'idle'
  | 'lock'
  | 'screenshot'
  | 'usb_control'
  | 'secure_transport'
  | 'browser_extension'
  | 'typed_text'
  | 'screen_text'
  /** BYOD scope (issue 19): can the agent read the network facts the policy decides on? */
  | 'network_facts'
  /** BYOD scope: can the agent tell the user with a desktop notification when monitoring starts/stops? */
  | 'scope_notice';

export interface CapabilityStatus {
  name: CapabilityName;
  available: boolean;
  /** Why not, in words IT staff understand: "no X display", "Wayland session", "not root". */
  reason: string;
}

/** A long-running part of the agent (monitor, enforcer, capture). */
export interface AgentComponent {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Capability statuses this component owns (may change over time). */
  capabilities(): CapabilityStatus[];
  /** A command pushed by the collector (e.g. LOCK_NOW). Resolve true if this component handled it. */
  onCommand?(command: ICommand): Promise<boolean>;
}

/**
 * Is the screen locked right now? Provided by the enforcement side (platform lock detection);
 * the window monitor records "locked" instead of the last window while it is (platform-notes §2:
 * _NET_ACTIVE_WINDOW does not change while a locker is up).
 */
export interface LockStateProbe {
  isLocked(): Promise<boolean>;
}

/** The active window as the window monitor sees it (attacker-controlled text: never interpolate). */
export interface ActiveWindowInfo {
  app: string;
  title: string;
  /** Empty when the OS gives no URL (Linux never does). */
  url: string;
  /** 0 when unknown (window without _NET_WM_PID). */
  pid: number;
}

/**
 * In-process feed of active-window changes (the capture component matches keywords on it).
 * Listeners are called after the change has been persisted as an ActiveWindow event; never
 * while the screen is locked (the locked state is reported as `undefined`).
 */
export interface ActiveWindowFeed {
  /** The active window now; undefined when none, unknown, or the screen is locked. */
  current(): ActiveWindowInfo | undefined;
  /** Called on every change (app, title or URL). Returns an unsubscribe. */
  onChange(listener: (window: ActiveWindowInfo | undefined) => void): () => void;
}

/** Everything a component may need, handed over by the composition root. */
export interface AgentContext {
  events: EventSink;
  blobs: BlobSink;
  policy: PolicySource;
  log: AgentLogger;
  /** Demo mode: the newcomer's own machine. USB in audit, idle lock report-only unless opted in. */
  demo: boolean;
  /** Called when a component's capabilities change, so the agent reports them again. */
  capabilitiesChanged(): void;
  /** Shared lock-state probe (see LockStateProbe). */
  lockState: LockStateProbe;
  /** Agent data dir (owner-only permissions). */
  dataDir: string;
  /** Active-window changes from the window monitor (see ActiveWindowFeed). */
  windows: ActiveWindowFeed;
}

export interface AgentLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
}
