// The policy schema shared by agent and collector: one plain-object shape, its defaults,
// its validation, and its mapping to and from the wire (custodian.v1.Policy).
import { CustodianError, ErrorCode, type IPolicy, v1 } from '@custodian/protocol';
import {
  type ByodScope,
  byodScopeFromWire,
  byodScopeToWire,
  defaultByodScope,
  validateByodScope,
} from './byod-scope.ts';
import { bool, type Issues, int, list, obj, oneOf, str } from './check.ts';

export const USB_MODES = ['audit', 'block-unencrypted-writes', 'block-all-writes', 'allow'] as const;
export type UsbMode = (typeof USB_MODES)[number];

export const AGE_BANDS = ['primary', 'secondary', 'staff'] as const;
/** Most screenshots one capture may take (capture.frames); the collector keeps no more per flag. */
export const MAX_CAPTURE_FRAMES = 5;
export type AgeBand = (typeof AGE_BANDS)[number];

export interface UsbAllowEntry {
  vendorId: string;
  productId: string;
  /** Empty: any serial of that vendor and product. */
  serial: string;
  approvedBy: string;
  reason: string;
}

export interface CustomTerm {
  term: string;
  category: string;
  severity: number;
}

export interface Policy {
  /** Monotonic version assigned by the collector; 0 = the built-in defaults. */
  version: number;
  idleLock: {
    enabled: boolean;
    idleLockSeconds: number;
    warningSeconds: number;
    /** Measure and report, never lock (demo agent, exempted device). */
    reportOnly: boolean;
    exemptionReason: string;
  };
  usb: {
    mode: UsbMode;
    allow: UsbAllowEntry[];
    /** Kernel block device names treated as removable USB storage (card readers, test loop devices). */
    treatAsUsb: string[];
  };
  capture: {
    enabled: boolean;
    minSeverity: number;
    /** Empty: every category. */
    categories: string[];
    ageBand: AgeBand;
    frames: number;
    repeatSuppressSeconds: number;
    customTerms: CustomTerm[];
    /** Keyboard source: typed text, buffered in memory per window, only a match's context leaves. */
    typedText: boolean;
    /** OCR of the active window on focus change and at most every screenScanSeconds. */
    screenText: boolean;
    /** Screenshots one second apart on a typed-text match (the burst). */
    typedFrames: number;
    screenScanSeconds: number;
    /** OCR seconds (single-threaded child, wall clock: an upper bound on its CPU) per hour. */
    ocrCpuSecondsPerHour: number;
  };
  heartbeatSeconds: number;
  windowSampleMs: number;
  /** When a BYOD device is monitored (school-owned devices: always). See byod-scope.ts. */
  byodScope: ByodScope;
}

export function defaultPolicy(): Policy {
  return {
    version: 0,
    idleLock: {
      enabled: true,
      idleLockSeconds: 900,
      warningSeconds: 60,
      reportOnly: false,
      exemptionReason: '',
    },
    usb: { mode: 'block-unencrypted-writes', allow: [], treatAsUsb: [] },
    capture: {
      enabled: true,
      minSeverity: 3,
      categories: [],
      ageBand: 'secondary',
      frames: 1,
      repeatSuppressSeconds: 600,
      customTerms: [],
      typedText: true,
      screenText: true,
      typedFrames: 3,
      screenScanSeconds: 60,
      // 20 s an hour is 0.56 % of a core at most, inside the agent's 1 % with everything else.
      ocrCpuSecondsPerHour: 20,
    },
    heartbeatSeconds: 60,
    windowSampleMs: 1000,
    byodScope: defaultByodScope(),
  };
}

const DEFAULT_CAPTURE = defaultPolicy().capture;

/**
 * Limits of sense, beyond the shape. A person editing policy gets EDIT_LIMITS: an idle lock
 * sooner than a minute after the last input (`idleLockSeconds: 1` used to be accepted) locks
 * pupils out mid-sentence, over and over. A policy already accepted somewhere (stored by the
 * collector, received by the agent) is read with RECEIVED_LIMITS, so an older stored value, or a
 * collector configured lower for a demo, does not turn into "no policy at all".
 */
export interface PolicyLimits {
  minIdleLockSeconds: number;
}
export const EDIT_LIMITS: Readonly<PolicyLimits> = { minIdleLockSeconds: 60 };
export const RECEIVED_LIMITS: Readonly<PolicyLimits> = { minIdleLockSeconds: 1 };

const DEVICE_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const HEX4 = /^[0-9a-f]{4}$/;

/**
 * Validates a whole policy (every field present). Throws CUST_ERR_INVALID_POLICY naming every
 * bad field; never fills a bad value with a default.
 */
export function validatePolicy(input: unknown, limits: Readonly<PolicyLimits> = EDIT_LIMITS): Policy {
  const issues: Issues = [];
  const p = obj(issues, 'policy', input);
  const idle = obj(issues, 'idleLock', p['idleLock']);
  const usb = obj(issues, 'usb', p['usb']);
  const cap = obj(issues, 'capture', p['capture']);
  const policy: Policy = {
    version: int(issues, 'version', p['version'], 0, Number.MAX_SAFE_INTEGER),
    idleLock: {
      enabled: bool(issues, 'idleLock.enabled', idle['enabled']),
      idleLockSeconds: int(
        issues,
        'idleLock.idleLockSeconds',
        idle['idleLockSeconds'],
        Math.max(1, limits.minIdleLockSeconds),
        86_400,
      ),
      warningSeconds: int(issues, 'idleLock.warningSeconds', idle['warningSeconds'], 0, 3_600),
      reportOnly: bool(issues, 'idleLock.reportOnly', idle['reportOnly']),
      exemptionReason: str(issues, 'idleLock.exemptionReason', idle['exemptionReason']),
    },
    usb: {
      mode: oneOf(issues, 'usb.mode', usb['mode'], USB_MODES),
      allow: list(issues, 'usb.allow', usb['allow'], 1000, (v, path) => {
        const e = obj(issues, path, v);
        const entry: UsbAllowEntry = {
          vendorId: str(issues, `${path}.vendorId`, e['vendorId'], 4).toLowerCase(),
          productId: str(issues, `${path}.productId`, e['productId'], 4).toLowerCase(),
          serial: str(issues, `${path}.serial`, e['serial'], 128),
          approvedBy: str(issues, `${path}.approvedBy`, e['approvedBy'], 200),
          reason: str(issues, `${path}.reason`, e['reason']),
        };
        if (!HEX4.test(entry.vendorId)) issues.push(`${path}.vendorId must be 4 hex digits`);
        if (!HEX4.test(entry.productId)) issues.push(`${path}.productId must be 4 hex digits`);
        if (entry.approvedBy.trim() === '')
          issues.push(`${path}.approvedBy must say who approved the device`);
        if (entry.reason.trim() === '') issues.push(`${path}.reason must say why the device is approved`);
        return entry;
      }),
      treatAsUsb: list(issues, 'usb.treatAsUsb', usb['treatAsUsb'], 64, (v, path) => {
        const name = str(issues, path, v, 32);
        if (!DEVICE_NAME.test(name))
          issues.push(`${path} must be a kernel block device name like "sdb" or "loop3"`);
        return name;
      }),
    },
    capture: {
      enabled: bool(issues, 'capture.enabled', cap['enabled']),
      minSeverity: int(issues, 'capture.minSeverity', cap['minSeverity'], 1, 5),
      categories: list(issues, 'capture.categories', cap['categories'], 64, (v, path) =>
        str(issues, path, v, 64),
      ),
      ageBand: oneOf(issues, 'capture.ageBand', cap['ageBand'], AGE_BANDS),
      frames: int(issues, 'capture.frames', cap['frames'], 1, MAX_CAPTURE_FRAMES),
      repeatSuppressSeconds: int(
        issues,
        'capture.repeatSuppressSeconds',
        cap['repeatSuppressSeconds'],
        0,
        86_400,
      ),
      customTerms: list(issues, 'capture.customTerms', cap['customTerms'], 2000, (v, path) => {
        const t = obj(issues, path, v);
        const term: CustomTerm = {
          term: str(issues, `${path}.term`, t['term'], 200),
          category: str(issues, `${path}.category`, t['category'], 64),
          severity: int(issues, `${path}.severity`, t['severity'], 1, 5),
        };
        if (term.term.trim() === '') issues.push(`${path}.term must not be empty`);
        return term;
      }),
      typedText: bool(issues, 'capture.typedText', cap['typedText']),
      screenText: bool(issues, 'capture.screenText', cap['screenText']),
      typedFrames: int(issues, 'capture.typedFrames', cap['typedFrames'], 1, 5),
      screenScanSeconds: int(issues, 'capture.screenScanSeconds', cap['screenScanSeconds'], 10, 3_600),
      ocrCpuSecondsPerHour: int(
        issues,
        'capture.ocrCpuSecondsPerHour',
        cap['ocrCpuSecondsPerHour'],
        0,
        3_600,
      ),
    },
    heartbeatSeconds: int(issues, 'heartbeatSeconds', p['heartbeatSeconds'], 5, 86_400),
    windowSampleMs: int(issues, 'windowSampleMs', p['windowSampleMs'], 100, 60_000),
    byodScope: validateByodScope(issues, p['byodScope']),
  };
  if (
    policy.idleLock.warningSeconds >= policy.idleLock.idleLockSeconds &&
    policy.idleLock.warningSeconds > 0
  ) {
    issues.push('idleLock.warningSeconds must be shorter than idleLock.idleLockSeconds');
  }
  if (issues.length > 0) {
    throw new CustodianError(ErrorCode.INVALID_POLICY, `invalid policy: ${issues.join('; ')}`, {
      details: { issues },
    });
  }
  return policy;
}

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends (infer U)[] ? U[] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};
export type PolicyPatch = DeepPartial<Policy>;

/** Applies a partial change (e.g. a per-device override) over a base policy, then validates the result. */
export function mergePolicy(
  base: Policy,
  patch: PolicyPatch,
  limits: Readonly<PolicyLimits> = EDIT_LIMITS,
): Policy {
  const merged: Record<string, unknown> = structuredClone(base) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const current = merged[key];
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && typeof current === 'object') {
      merged[key] = { ...(current as object), ...(value as object) };
    } else {
      merged[key] = value;
    }
  }
  return validatePolicy(merged, limits);
}

const USB_MODE_WIRE: Record<UsbMode, number> = {
  audit: v1.UsbPolicy.Mode.AUDIT,
  'block-unencrypted-writes': v1.UsbPolicy.Mode.BLOCK_UNENCRYPTED_WRITES,
  'block-all-writes': v1.UsbPolicy.Mode.BLOCK_ALL_WRITES,
  allow: v1.UsbPolicy.Mode.ALLOW,
};

export function policyToWire(policy: Policy): IPolicy {
  return {
    version: policy.version,
    idleLock: { ...policy.idleLock },
    usb: { mode: USB_MODE_WIRE[policy.usb.mode], allow: policy.usb.allow, treatAsUsb: policy.usb.treatAsUsb },
    capture: { ...policy.capture },
    heartbeatSeconds: policy.heartbeatSeconds,
    windowSampleMs: policy.windowSampleMs,
    byodScope: byodScopeToWire(policy.byodScope),
  };
}

/**
 * Maps a received wire policy to the shared shape and validates it (throws CUST_ERR_INVALID_POLICY).
 * RECEIVED_LIMITS by default: the sender (the collector) applied the limits of sense.
 */
export function policyFromWire(wire: IPolicy, limits: Readonly<PolicyLimits> = RECEIVED_LIMITS): Policy {
  const mode = (Object.entries(USB_MODE_WIRE).find(([, n]) => n === wire.usb?.mode)?.[0] ??
    'invalid') as UsbMode;
  const c = wire.capture ?? {};
  const i = wire.idleLock ?? {};
  return validatePolicy(
    {
      version: wire.version ?? 0,
      idleLock: {
        enabled: i.enabled ?? false,
        idleLockSeconds: i.idleLockSeconds ?? 0,
        warningSeconds: i.warningSeconds ?? 0,
        reportOnly: i.reportOnly ?? false,
        exemptionReason: i.exemptionReason ?? '',
      },
      usb: {
        mode,
        allow: (wire.usb?.allow ?? []).map((a) => ({
          vendorId: a.vendorId ?? '',
          productId: a.productId ?? '',
          serial: a.serial ?? '',
          approvedBy: a.approvedBy ?? '',
          reason: a.reason ?? '',
        })),
        treatAsUsb: wire.usb?.treatAsUsb ?? [],
      },
      capture: {
        enabled: c.enabled ?? false,
        minSeverity: c.minSeverity ?? 0,
        categories: c.categories ?? [],
        ageBand: c.ageBand ?? '',
        frames: c.frames ?? 0,
        repeatSuppressSeconds: c.repeatSuppressSeconds ?? 0,
        customTerms: (c.customTerms ?? []).map((t) => ({
          term: t.term ?? '',
          category: t.category ?? '',
          severity: t.severity ?? 0,
        })),
        // Zero on the wire: a collector from before the text sources (see custodian.proto).
        typedText: c.typedText ?? false,
        screenText: c.screenText ?? false,
        typedFrames: c.typedFrames || DEFAULT_CAPTURE.typedFrames,
        screenScanSeconds: c.screenScanSeconds || DEFAULT_CAPTURE.screenScanSeconds,
        ocrCpuSecondsPerHour: c.ocrCpuSecondsPerHour ?? DEFAULT_CAPTURE.ocrCpuSecondsPerHour,
      },
      heartbeatSeconds: wire.heartbeatSeconds ?? 0,
      windowSampleMs: wire.windowSampleMs ?? 0,
      byodScope: byodScopeFromWire(wire.byodScope),
    },
    limits,
  );
}
