// The machinery behind config.ts (issue 13): each setting is ONE TypeBox leaf carrying its type,
// limits, default, description and where else it may come from (env variable, CLI flag). From
// the one declaration come the CollectorConfig type, defaultConfig(), the env/flag tables, the
// check (each refusal names the field and where its value came from) and the README table.
import { isIP } from 'node:net';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import {
  FormatRegistry,
  type SchemaOptions,
  type Static,
  type TLiteral,
  type TObject,
  type TSchema,
  type TUnion,
  Type,
} from '@sinclair/typebox';
import { Errors, ValueErrorType } from '@sinclair/typebox/errors';

/** Where else a setting may be given, besides the config file (always). */
export interface SettingSource {
  /** Environment variable, e.g. `CUSTODIAN_PORT`. */
  env?: string;
  /** CLI flag without the dashes, e.g. `port` for `--port 9000`. */
  flag?: string;
}
interface SettingOptions extends SettingSource, SchemaOptions {
  /** What a person reads after "must " when a pattern or format refuses the value. */
  mustBe?: string;
  /** A file path: relative paths are resolved against the config file's folder (else the cwd). */
  path?: boolean;
  /** A secret: never echoed in an error message. */
  secret?: boolean;
  /** A default that depends on the data dir (the only input every setting may depend on). */
  derive?: (dataDir: string) => unknown;
  /** A word (env or file) that means the empty list, e.g. `none`. */
  emptyWord?: string;
}

export const Int = (min: number, max: number, def: number, o: SettingOptions) =>
  Type.Integer({ minimum: min, maximum: max, default: def, ...o });

export const Str = (def: string, o: SettingOptions) => Type.String({ default: def, ...o });

export const OneOf = <T extends string>(values: readonly T[], def: T, o: SettingOptions) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { default: def, ...o },
  ) as unknown as TUnion<TLiteral<T>[]>;

/** A list: a JSON array in the file, comma-separated text in the environment. */
export const ListOf = <T extends TSchema>(item: T, def: Static<T>[], o: SettingOptions) =>
  Type.Array(item, { default: def, ...o });

/** `format: 'ip'` and `format: 'ip-range'` strings (registered below). */
export const IpAddress = (mustBe = 'be an IP address') => Type.String({ format: 'ip', mustBe });
export const IpRange = (mustBe = 'be an IP address or CIDR range') =>
  Type.String({ format: 'ip-range', mustBe });

/** `10.0.0.5`, `10.0.0.0/8`, `::1`, `fd00::/8`: an address with an optional prefix length that fits its family. */
export function isAddressRange(v: string): boolean {
  const [addr = '', prefix, extra] = v.split('/');
  if (extra !== undefined) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}
if (!FormatRegistry.Has('ip')) FormatRegistry.Set('ip', (v) => isIP(v) !== 0);
if (!FormatRegistry.Has('ip-range')) FormatRegistry.Set('ip-range', isAddressRange);

type Leaf = TSchema & SettingOptions & Record<string, unknown>;

/** Every setting as `dotted.field → its leaf`, in declaration order. */
export function leavesOf(schema: TObject, prefix = ''): Map<string, Leaf> {
  const out = new Map<string, Leaf>();
  for (const [key, prop] of Object.entries(schema.properties)) {
    const field = prefix ? `${prefix}.${key}` : key;
    const p = prop as Leaf;
    const obj = (p['anyOf'] as Leaf[] | undefined)?.find((v) => v['type'] === 'object') ?? p;
    if (obj['type'] === 'object') for (const [f, l] of leavesOf(obj as TObject, field)) out.set(f, l);
    else out.set(field, p);
  }
  return out;
}

export function refuse(field: string, message: string, source?: string): never {
  throw new CustodianError(
    ErrorCode.INVALID_CONFIG,
    `config field ${field}: ${message}${source && source !== 'default' ? ` (from ${source})` : ''}`,
    { details: { field } },
  );
}

/**
 * A value as given (env and flags are text) turned into what its leaf holds: whole numbers from
 * digits, lists from comma-separated text, `emptyWord` to the empty list. Anything else is left
 * for the check to refuse.
 */
export function fromText(leaf: Leaf, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (leaf['type'] === 'integer' && /^-?\d+$/.test(value.trim())) return Number(value);
  if (leaf['type'] === 'array') {
    if (leaf.emptyWord !== undefined && value.trim() === leaf.emptyWord) return [];
    return value
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
  }
  return value;
}

/** One setting's value against its leaf: throws CUST_ERR_INVALID_CONFIG naming the field and its source. */
export function checkSetting(field: string, leaf: Leaf, value: unknown, source: string): void {
  if (leaf.emptyWord !== undefined && value === leaf.emptyWord) return;
  const got = leaf.secret ? '' : ` (got ${JSON.stringify(value)})`;
  for (const e of Errors(leaf, value)) {
    const s = e.schema as Leaf;
    if (e.type === ValueErrorType.StringFormat)
      refuse(field, `not ${s.mustBe?.replace(/^be /, '') ?? 'valid'}: ${JSON.stringify(e.value)}`, source);
    if (s['type'] === 'integer')
      refuse(field, `must be a whole number from ${s['minimum']} to ${s['maximum']}${got}`, source);
    if (s['anyOf']) {
      const values = (s['anyOf'] as { const?: unknown }[]).map((v) => v.const);
      refuse(field, `must be one of ${values.join(', ')}${got}`, source);
    }
    if (s['type'] === 'array') refuse(field, `must be a list${s.mustBe ? ` of ${s.mustBe}` : ''}`, source);
    if (e.type === ValueErrorType.StringPattern && s.mustBe) refuse(field, `must ${s.mustBe}`, source);
    if (e.type === ValueErrorType.StringMinLength) refuse(field, 'must not be empty', source);
    if (s['type'] === 'string') refuse(field, `must be text${got}`, source);
    refuse(field, `is not valid${got}`, source);
  }
}

/** The declaration's defaults for a data dir. */
export function defaultsOf(schema: TObject, dataDir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries(schema.properties)) {
    const p = prop as Leaf;
    if (p.derive) out[key] = p.derive(dataDir);
    else if ('default' in p) out[key] = structuredClone(p['default']);
    else if (p['type'] === 'object') out[key] = defaultsOf(p as TObject, dataDir);
    else out[key] = undefined;
  }
  return out;
}

/** `{a: {b: 1}}` → `{'a.b': 1}` (arrays are values). */
export function flatten(obj: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'object' && v !== null && !Array.isArray(v))
      Object.assign(out, flatten(v as Record<string, unknown>, path));
    else if (v !== undefined) out[path] = v;
  }
  return out;
}

export function assign(target: Record<string, unknown>, field: string, value: unknown): void {
  const parts = field.split('.');
  let t = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof t[part] !== 'object' || t[part] === null) t[part] = {};
    t = t[part] as Record<string, unknown>;
  }
  t[parts[parts.length - 1] as string] = value;
}
