// The policy schema shared by agent and collector: one plain-object shape, its defaults,
// its validation, and its mapping to and from the wire (custodian.v1.Policy).

import { CustodianError, ErrorCode, type IPolicy, v1 } from '@custodian/protocol';
import type { Static, TObject } from '@sinclair/typebox';
import {
  ByodScopeSchema,
  byodScopeFromWire,
  byodScopeRelations,
  byodScopeToWire,
  normaliseByodScope,
} from './byod-scope.ts';
import {
  asObj,
  Bool,
  defaultsOf,
  Int,
  type Issues,
  List,
  NotBlank,
  OneOf,
  pick,
  Section,
  schemaIssues,
  Text,
  withAbsentDefaults,
} from './schema-kit.ts';

export const USB_MODES = ['audit', 'block-unencrypted-writes', 'block-all-writes', 'allow'] as const;
export type UsbMode = (typeof USB_MODES)[number];

export const AGE_BANDS = ['primary', 'secondary', 'staff'] as const;
/** Most screenshots one capture may take (capture.frames); the collector keeps no more per flag. */
export const MAX_CAPTURE_FRAMES = 5;
export type AgeBand = (typeof AGE_BANDS)[number];

/**
 * Limits of sense, beyond the shape. A person editing policy gets EDIT_LIMITS: an idle lock
 * sooner than a minute after the last input (`idleLockSeconds: 1` used to be accepted) locks
 * pupils out mid-sentence, over and over. A policy already accepted somewhere (stored by the
 * collector, received by the agent) is read with RECEIVED_LIMITS, so an older stored value, or a
 * collector configured lower for a demo, does not turn into "no policy at all". They are part of
 * the declaration: policySchema(limits) is the policy's schema under those limits.
 */
export interface PolicyLimits {
  minIdleLockSeconds: number;
}
export const EDIT_LIMITS: Readonly<PolicyLimits> = { minIdleLockSeconds: 60 };
export const RECEIVED_LIMITS: Readonly<PolicyLimits> = { minIdleLockSeconds: 1 };

const HEX4 = { pattern: '^[0-9a-fA-F]{4}$', mustBe: 'be 4 hex digits' };

export const UsbAllowEntrySchema = Section({
  vendorId: Text(4, '', { ...HEX4, description: 'USB vendor id, 4 hex digits (stored lower case)' }),
  productId: Text(4, '', { ...HEX4, description: 'USB product id, 4 hex digits (stored lower case)' }),
  serial: Text(128, '', { description: 'Empty: any serial of that vendor and product.' }),
  approvedBy: NotBlank(200, 'say who approved the device'),
  reason: NotBlank(500, 'say why the device is approved'),
});
export type UsbAllowEntry = Static<typeof UsbAllowEntrySchema>;

export const CustomTermSchema = Section({
  term: NotBlank(200, 'not be empty'),
  category: Text(64, ''),
  severity: Int(1, 5, 3),
});
export type CustomTerm = Static<typeof CustomTermSchema>;

/** The whole policy, its defaults and its limits: one declaration (types below are derived from it). */
function declare(minIdleLockSeconds: number) {
  return Section({
    version: Int(0, Number.MAX_SAFE_INTEGER, 0, {
      description: 'Monotonic version assigned by the collector; 0 = the built-in defaults.',
    }),
    idleLock: Section({
      enabled: Bool(true),
      idleLockSeconds: Int(Math.max(1, minIdleLockSeconds), 86_400, 900),
      warningSeconds: Int(0, 3_600, 60),
      reportOnly: Bool(false, {
        description: 'Measure and report, never lock (demo agent, exempted device).',
      }),
      exemptionReason: Text(500, ''),
    }),
    usb: Section({
      mode: OneOf(USB_MODES, 'block-unencrypted-writes'),
      allow: List(UsbAllowEntrySchema, 1000),
      treatAsUsb: List(
        Text(32, '', {
          pattern: '^[a-z0-9][a-z0-9_-]{0,31}$',
          mustBe: 'be a kernel block device name like "sdb" or "loop3"',
        }),
        64,
        {
          description:
            'Kernel block device names treated as removable USB storage (card readers, test loop devices).',
        },
      ),
    }),
    capture: Section({
      enabled: Bool(true),
      minSeverity: Int(1, 5, 3),
      categories: List(Text(64, ''), 64, { description: 'Empty: every category.' }),
      ageBand: OneOf(AGE_BANDS, 'secondary'),
      frames: Int(1, MAX_CAPTURE_FRAMES, 1),
      repeatSuppressSeconds: Int(0, 86_400, 600),
      customTerms: List(CustomTermSchema, 2000),
      typedText: Bool(true, {
        description:
          "Keyboard source: typed text, buffered in memory per window, only a match's context leaves.",
      }),
      screenText: Bool(true, {
        description: 'OCR of the active window on focus change and at most every screenScanSeconds.',
      }),
      typedFrames: Int(1, 5, 3, {
        description: 'Screenshots one second apart on a typed-text match (the burst).',
      }),
      screenScanSeconds: Int(10, 3_600, 60),
      // 20 s an hour is 0.56 % of a core at most, inside the agent's 1 % with everything else.
      ocrCpuSecondsPerHour: Int(0, 3_600, 20, {
        description: 'OCR seconds (single-threaded child, wall clock: an upper bound on its CPU) per hour.',
      }),
    }),
    heartbeatSeconds: Int(5, 86_400, 60),
    windowSampleMs: Int(100, 60_000, 1000),
    byodScope: ByodScopeSchema,
  });
}

const schemas = new Map<number, TObject>();
/** The policy's schema under `limits` (JSON Schema; built once per limit). */
export function policySchema(limits: Readonly<PolicyLimits> = EDIT_LIMITS): ReturnType<typeof declare> {
  const min = Math.max(1, limits.minIdleLockSeconds);
  let s = schemas.get(min);
  if (!s) {
    s = declare(min);
    schemas.set(min, s);
  }
  return s as ReturnType<typeof declare>;
}

export type Policy = Static<ReturnType<typeof declare>>;

export function defaultPolicy(): Policy {
  return defaultsOf(policySchema());
}

const DEFAULT_CAPTURE = defaultPolicy().capture;

/** What the shape cannot say: one field against another. */
function policySense(issues: Issues, value: unknown): void {
  const idle = asObj(asObj(value)['idleLock']);
  const warning = idle['warningSeconds'];
  const lock = idle['idleLockSeconds'];
  if (typeof warning === 'number' && typeof lock === 'number' && warning >= lock && warning > 0)
    issues.push('idleLock.warningSeconds must be shorter than idleLock.idleLockSeconds');
}

/**
 * Validates a whole policy (every field present; an absent byodScope is the default). Throws
 * CUST_ERR_INVALID_POLICY naming every bad field; never fills a bad value with a default.
 */
export function validatePolicy(input: unknown, limits: Readonly<PolicyLimits> = EDIT_LIMITS): Policy {
  const schema = policySchema(limits);
  const value = withAbsentDefaults(schema, input);
  const issues = schemaIssues(schema, value);
  byodScopeRelations(issues, asObj(value)['byodScope']);
  policySense(issues, value);
  if (issues.length > 0) {
    throw new CustodianError(ErrorCode.INVALID_POLICY, `invalid policy: ${issues.join('; ')}`, {
      details: { issues },
    });
  }
  const policy = pick<Policy>(schema, value);
  for (const a of policy.usb.allow) {
    a.vendorId = a.vendorId.toLowerCase();
    a.productId = a.productId.toLowerCase();
  }
  normaliseByodScope(policy.byodScope);
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
