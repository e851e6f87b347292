// The policy's building blocks (issue 13): TypeBox declarations carry each field's type, limits,
// default and the sentence a person reads when it is wrong, so the policy's defaults, validation
// and TypeScript types come from one declaration (policy.ts, byod-scope.ts). Checked with
// TypeBox's Value functions (no code generation: the agent runs this under --lite-mode too).
import { isIP } from 'node:net';
// Named builders, not the `Type` namespace: the namespace pulls every TypeBox type into the
// agent's bundle (+190 KB); these few keep it small.
import {
  FormatRegistry,
  Integer,
  Literal,
  type SchemaOptions,
  type Static,
  Array as TArray,
  Boolean as TBoolean,
  type TLiteral,
  Object as TObject,
  type TProperties,
  type TSchema,
  String as TString,
  type TUnion,
  Union,
} from '@sinclair/typebox';
import { Errors, ValueErrorType } from '@sinclair/typebox/errors';
import { Check } from '@sinclair/typebox/value';

/** Problems found, each a sentence naming the field ("usb.allow[0].reason must …"). */
export type Issues = string[];

/**
 * C0/C1 controls, DEL and the Unicode line/paragraph separators. A policy string reaches places
 * where any of them ends a line or a record: systemd-udevd ends a rules line at NUL as well as at
 * a newline, so a NUL in an allow-list reason once became a root RUN+= line (issue 11, item 4).
 * One rule for every policy string, here, where collector and agent both validate.
 */
export const CONTROL_CHAR = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const CONTROLS = '\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029';
const NO_CONTROLS = `^[^${CONTROLS}]*$`;
const NOT_BLANK = `^[^${CONTROLS}]*[^\\s${CONTROLS}][^${CONTROLS}]*$`;

/** `format: 'ip'`: an IPv4 or IPv6 address literal (node:net isIP). */
if (!FormatRegistry.Has('ip')) FormatRegistry.Set('ip', (v) => isIP(v) !== 0);

/**
 * Our annotations beside the JSON Schema keywords. `mustBe`: what follows "<field> must " when
 * a pattern, format or minItems refuses the value ("be 4 hex digits", "say who approved …"). `absentIsDefault`: a missing property is
 * its default (a section or field added after policies were already stored and sent).
 */
interface Annotations {
  mustBe?: string;
  absentIsDefault?: boolean;
}
type Opts = SchemaOptions & Annotations;

export const Int = (min: number, max: number, def: number, o: Opts = {}) =>
  Integer({ minimum: min, maximum: max, default: def, ...o });

export const Bool = (def: boolean, o: Opts = {}) => TBoolean({ default: def, ...o });

/** Text without control characters, at most `max` characters; `pattern`/`mustBe` narrow it. */
export const Text = (max: number, def: string, o: Opts = {}) =>
  TString({ maxLength: max, pattern: NO_CONTROLS, default: def, ...o });

/** Text that must say something (not empty, not only spaces), without control characters. */
export const NotBlank = (max: number, mustBe: string, o: Opts = {}) =>
  TString({ maxLength: max, pattern: NOT_BLANK, default: '', mustBe, ...o });

/** One of a fixed list (typed as the union of the values). */
export const OneOf = <T extends string>(values: readonly T[], def: T, o: Opts = {}) =>
  Union(
    values.map((v) => Literal(v)),
    { default: def, ...o },
  ) as unknown as TUnion<TLiteral<T>[]>;

export const List = <T extends TSchema>(item: T, max: number, o: Opts = {}) =>
  TArray(item, { maxItems: max, default: [], ...o });

export const Section = <P extends TProperties>(properties: P, o: Opts = {}) => TObject(properties, o);

/** The schema's defaults, as a new value (arrays and objects are fresh copies). */
export function defaultsOf<T extends TSchema>(schema: T): Static<T> {
  const s = schema as TSchema & Record<string, unknown>;
  if ('default' in s) return structuredClone(s['default']) as Static<T>;
  const out: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries((s['properties'] ?? {}) as Record<string, TSchema>))
    out[key] = defaultsOf(prop);
  return out as Static<T>;
}

/** `/usb/allow/0/reason` under `root` → `root.usb.allow[0].reason`. */
function fieldOf(root: string, pointer: string): string {
  let out = root;
  for (const part of pointer.split('/').slice(1)) {
    const p = part.replace(/~1/g, '/').replace(/~0/g, '~');
    out = /^\d+$/.test(p) ? `${out}[${p}]` : out === '' ? p : `${out}.${p}`;
  }
  return out === '' ? 'policy' : out;
}

/** The sentence for one refused value, from the schema that refused it. */
function sentence(
  type: ValueErrorType,
  schema: TSchema & Annotations & Record<string, unknown>,
  value: unknown,
): string {
  const got = `(got ${JSON.stringify(value)})`;
  switch (schema['type']) {
    case 'integer':
      return `must be a whole number from ${schema['minimum']} to ${schema['maximum']} ${got}`;
    case 'boolean':
      return `must be true or false ${got}`;
    case 'object':
      return 'must be an object';
    case 'array':
      if (type === ValueErrorType.ArrayMinItems && schema.mustBe) return `must ${schema.mustBe}`;
      return `must be a list of at most ${schema['maxItems']} entries`;
    case 'string': {
      if (type === ValueErrorType.StringPattern || type === ValueErrorType.StringFormat) {
        const bad = typeof value === 'string' ? CONTROL_CHAR.exec(value) : null;
        if (bad) {
          const code = (bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
          return `must not contain control characters (U+${code} at position ${bad.index})`;
        }
        const what = `must ${schema.mustBe ?? `match ${schema['pattern']}`}`;
        return type === ValueErrorType.StringFormat ? `${what} ${got}` : what;
      }
      return `must be text of at most ${schema['maxLength']} characters`;
    }
  }
  if ('anyOf' in schema) {
    const values = (schema['anyOf'] as { const?: unknown }[]).map((v) => v.const);
    return `must be one of ${values.join(', ')} ${got}`;
  }
  return `is not valid ${got}`;
}

/**
 * Every problem of `value` against `schema`, each a sentence naming the field (under `root`),
 * in the schema's field order, each sentence once.
 */
export function schemaIssues(schema: TSchema, value: unknown, root = ''): Issues {
  const out: Issues = [];
  // The common case, a valid policy, without walking the error generators. Not TypeCompiler:
  // it would halve this (45-60 µs → 13-22 µs a policy) but add 62 KB more to the agent's bundle,
  // and policies are checked on a change and for devices with an override, not per event.
  if (Check(schema, value)) return out;
  for (const e of Errors(schema, value)) {
    // A missing field also fails its own type check, which says what to send.
    if (e.type === ValueErrorType.ObjectRequiredProperty) continue;
    const s = `${fieldOf(root, e.path)} ${sentence(e.type, e.schema as never, e.value)}`;
    if (!out.includes(s)) out.push(s);
  }
  return out;
}

/** A schema's properties as [key, schema] pairs, computed once per schema (policies are read often). */
const entries = new WeakMap<TSchema, [string, TSchema & Annotations][]>();
function propsOf(s: TSchema): [string, TSchema & Annotations][] {
  let e = entries.get(s);
  if (!e) {
    e = Object.entries(((s as Record<string, unknown>)['properties'] ?? {}) as Record<string, TSchema>);
    entries.set(s, e);
  }
  return e;
}
const absentBelow = new WeakMap<TSchema, boolean>();
/** Does any property at any depth of `s` have `absentIsDefault`? */
function hasAbsent(s: TSchema): boolean {
  let v = absentBelow.get(s);
  if (v === undefined) {
    const r = s as TSchema & Record<string, unknown>;
    v =
      r['type'] === 'array'
        ? hasAbsent(r['items'] as TSchema)
        : propsOf(s).some(([, p]) => p.absentIsDefault === true || hasAbsent(p));
    absentBelow.set(s, v);
  }
  return v;
}

/**
 * `value` with every missing `absentIsDefault` property set to its default, at any depth (a
 * copy where anything changed; other values as they are, for the check to refuse).
 */
export function withAbsentDefaults(schema: TSchema, value: unknown): unknown {
  if (!hasAbsent(schema)) return value;
  const s = schema as TSchema & Record<string, unknown>;
  if (s['type'] === 'array' && Array.isArray(value))
    return value.map((v) => withAbsentDefaults(s['items'] as TSchema, v));
  if (s['type'] !== 'object' || typeof value !== 'object' || value === null || Array.isArray(value))
    return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [key, prop] of propsOf(schema)) {
    if (out[key] === undefined && prop.absentIsDefault) out[key] = defaultsOf(prop);
    else if (out[key] !== undefined) out[key] = withAbsentDefaults(prop, out[key]);
  }
  return out;
}

/**
 * A copy of an already checked `value` holding only the schema's properties (a stored or
 * received policy may carry fields this version does not know; they are dropped, as before).
 */
export function pick<T>(schema: TSchema, value: unknown): T {
  const s = schema as TSchema & Record<string, unknown>;
  if (s['type'] === 'array') {
    const items = s['items'] as TSchema & Record<string, unknown>;
    const list = value as unknown[];
    return (
      items['type'] === 'object' || items['type'] === 'array' ? list.map((v) => pick(items, v)) : [...list]
    ) as T;
  }
  if (s['type'] !== 'object') return value as T;
  const out: Record<string, unknown> = {};
  for (const [key, prop] of propsOf(schema)) out[key] = pick(prop, (value as Record<string, unknown>)[key]);
  return out as T;
}

/** Narrow readers for the checks beyond the shape, which also run on a value the shape refused. */
export const asText = (v: unknown): string => (typeof v === 'string' ? v : '');
export const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const asObj = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
