// The chain of policy layers a device inherits (tenancy: trust default -> school -> group ->
// device override), merged in order, and where each field's effective value comes from. Pure:
// the service (service.ts) reads the layers from the store and hands them here.
import { mergePolicy, type Policy, type PolicyLimits, type PolicyPatch } from '@custodian/policy';

export type LayerKind = 'default' | 'school' | 'group' | 'device';

/** One layer above the default: its patch and the version of its last change. */
export interface Layer {
  kind: Exclude<LayerKind, 'default'>;
  id: string;
  patch: PolicyPatch;
  version: number;
}

/** What set one field: the layer kind and its id ('default' for the trust default). */
export interface FieldSource {
  /** Dotted path, e.g. `idleLock.idleLockSeconds`, or a top-level scalar such as `heartbeatSeconds`. */
  field: string;
  value: unknown;
  layer: LayerKind;
  id: string;
}

/** The scope a layer's change log uses: 'default', `school:<id>`, `group:<id>`, or the device id. */
export function layerScope(layer: { kind: LayerKind; id: string }): string {
  if (layer.kind === 'default') return 'default';
  return layer.kind === 'device' ? layer.id : `${layer.kind}:${layer.id}`;
}

export function isEmptyPatch(patch: PolicyPatch | null | undefined): boolean {
  return !patch || Object.keys(patch).length === 0;
}

/**
 * Merges `layers` (upper first) over `base`. Every step is validated (mergePolicy), so a layer
 * that is invalid over its parents throws naming its fields. The version is the highest of the
 * base, every layer and `floor` (the device's last move): the counter is global, so any change on
 * the chain raises it.
 */
export function mergeChain(
  base: Policy,
  layers: readonly Layer[],
  limits: Readonly<PolicyLimits>,
  floor = 0,
): Policy {
  let merged = base;
  let version = Math.max(base.version, floor);
  for (const l of layers) {
    if (!isEmptyPatch(l.patch)) merged = mergePolicy(merged, l.patch, limits);
    version = Math.max(version, l.version);
  }
  return { ...merged, version };
}

function isSection(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * For each field of the effective policy, its value and the layer that set it. The granularity
 * is mergePolicy's: a section's fields one by one (`idleLock.idleLockSeconds`), a top-level scalar
 * or list whole (`heartbeatSeconds`), and a field inside a section whole even when it is itself
 * an object (`byodScope.schoolHours`): a patch replaces it whole.
 */
export function provenance(effective: Policy, layers: readonly Layer[]): FieldSource[] {
  const source = new Map<string, { layer: LayerKind; id: string }>();
  const fields: string[] = [];
  const eff = effective as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(eff)) {
    if (key === 'version') continue;
    if (isSection(value)) for (const sub of Object.keys(value)) fields.push(`${key}.${sub}`);
    else fields.push(key);
  }
  for (const f of fields) source.set(f, { layer: 'default', id: 'default' });
  for (const l of layers) {
    for (const [key, value] of Object.entries(l.patch as Record<string, unknown>)) {
      if (value === undefined) continue;
      const who = { layer: l.kind, id: l.id };
      if (isSection(value) && isSection(eff[key])) {
        for (const sub of Object.keys(value))
          if (source.has(`${key}.${sub}`)) source.set(`${key}.${sub}`, who);
      } else {
        for (const f of fields) if (f === key || f.startsWith(`${key}.`)) source.set(f, who);
      }
    }
  }
  return fields.map((field) => {
    const [key, sub] = field.split('.') as [string, string | undefined];
    const value = sub === undefined ? eff[key] : (eff[key] as Record<string, unknown>)[sub];
    const s = source.get(field) as { layer: LayerKind; id: string };
    return { field, value, layer: s.layer, id: s.id };
  });
}
