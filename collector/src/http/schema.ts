// One way to declare what a route accepts (issue 13): TypeBox schemas for a route's params, query
// and body (and the answer integrators read), compiled once when the route is added. The server
// checks them after the access rule and before the handler; a bad input is 400
// CUST_ERR_INVALID_INPUT naming the failing field, so handlers receive typed input and never parse.
// The same schemas are JSON Schema, so the OpenAPI document (openapi.ts) is built from them.
import { validTimeZone } from '@custodian/policy';
import {
  FormatRegistry,
  type StaticDecode,
  type TLiteral,
  type TObject,
  type TProperties,
  type TSchema,
  type TUnion,
  Type,
} from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';
import { badInput } from './router.ts';

/** TypeBox's builder, for schemas that need more than the blocks below (one import for route files). */
export { Type };

/** What a route declares. `response` maps a status to the schema of its JSON body. */
export interface RouteSchema {
  params?: TObject;
  query?: TObject;
  body?: TSchema;
  response?: Partial<Record<number, TSchema>>;
  /** One line for the API reference. */
  summary?: string;
}

type Out<S, K extends keyof RouteSchema> =
  S extends Record<K, infer T extends TSchema> ? StaticDecode<T> : undefined;
/** The typed input a handler receives as `ctx.input`. */
export interface Input<S extends RouteSchema> {
  params: S extends { params: TObject } ? StaticDecode<S['params']> : Record<string, string>;
  query: Out<S, 'query'>;
  body: Out<S, 'body'>;
}

// --- building blocks, each with a description that says what to send ---------------------------

const NO_CONTROLS = '^[^\\u0000-\\u001f\\u007f]*$';

/** A route parameter or reference: a plain id, no separators or dots (router.ts SAFE_ID). */
export const Id = (description = 'an id') =>
  Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$', description: `${description} (letters, digits, _ or -)` });

/** The `:id` parameter most routes have. */
export const IdParams = (what: string) => Type.Object({ id: Id(`the ${what}'s id`) });

/** One of a fixed list of values (an enum in the API reference). */
export const Literals = <T extends string>(values: readonly T[], description: string) =>
  // Typed as the union of the values (TypeBox infers never for a union built from an array).
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description: `${description}: one of ${values.join(', ')}` },
  ) as unknown as TUnion<TLiteral<T>[]>;

/** Free text a person types (a reason, a note): no control characters, bounded. */
export const Text = (min: number, max: number, description: string) =>
  Type.String({
    minLength: min,
    maxLength: max,
    // No control characters (they corrupt logs, the audit export and the console).
    pattern: NO_CONTROLS,
    description: `${description}, ${min === 0 ? 'up to' : `${min} to`} ${max} characters`,
  });

/**
 * Text a device sends (host name, OS, the owner's name): well-formed UTF-16 (no lone surrogate),
 * no control characters, bounded. Attacker-controlled: it is escaped wherever it is shown.
 */
export const DeviceText = (min: number, max: number, description: string) =>
  Type.String({
    minLength: min,
    maxLength: max,
    pattern: '^(?:[^\\u0000-\\u001f\\u007f\\ud800-\\udfff]|[\\ud800-\\udbff][\\udc00-\\udfff])*$',
    description: `${description}: ${min} to ${max} characters, no control characters`,
  });

/**
 * An IANA time zone this server knows ("Europe/London"): the policy's validTimeZone, as a JSON
 * Schema format so the route refuses an unknown one naming the field.
 */
if (!FormatRegistry.Has('time-zone')) FormatRegistry.Set('time-zone', validTimeZone);
export const TimeZone = (description = "the school's time zone") =>
  Type.String({
    minLength: 1,
    maxLength: 64,
    format: 'time-zone',
    description: `${description}: an IANA time zone this server knows, such as Europe/London`,
  });

/** The `reason` staff give for a state change (audited). Not blank. */
export const Reason = (description = 'why you are doing this (kept in the audit log)') =>
  Type.String({
    minLength: 1,
    maxLength: 500,
    pattern: '^[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f][^\\u0000-\\u001f\\u007f]*$',
    description: `${description}: 1 to 500 characters, not blank, no control characters`,
  });

/** A whole number in a query string ("?limit=50"). */
export const QueryInt = (min: number, max: number, description: string) =>
  Type.Integer({
    minimum: min,
    maximum: max,
    description: `${description}, a whole number from ${min} to ${max}`,
  });

/** A comma-separated list in a query string ("?kinds=usb,activeWindow"), each item one of `allowed`. */
export const QueryList = <T extends string>(allowed: readonly T[], description: string) =>
  Type.Array(Literals(allowed, 'each item'), {
    description: `${description}: a comma-separated list of ${allowed.join(', ')}`,
  });

/** A time in a query string: milliseconds since the epoch, or an ISO 8601 date; handlers get ms. */
export const QueryTime = (description: string) =>
  Type.Transform(
    Type.String({
      maxLength: 40,
      pattern: '^(\\d{1,15}|\\d{4}-\\d{2}-\\d{2}([T ][0-9:.]+(Z|[+-]\\d{2}:?\\d{2})?)?)$',
      description: `${description}: milliseconds since the epoch, or an ISO 8601 date such as 2026-11-28T09:00:00Z`,
    }),
  )
    .Decode((s) => {
      const t = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
      if (Number.isNaN(t)) throw new Error('is not a real date');
      return t;
    })
    .Encode((n) => String(n));

/** A JSON object body; unknown fields are refused so a typo ("reasn") is not silently ignored. */
export const Body = <P extends TProperties>(properties: P) =>
  Type.Object(properties, { additionalProperties: false });

/** The one error shape every failure has (server.ts sendError). */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'a stable CUST_ERR_… code (protocol/src/errors.ts)' }),
      message: Type.String({ description: 'what went wrong and what to change, for a person' }),
      field: Type.Optional(
        Type.String({ description: 'the input that failed, e.g. body.reason or query.limit' }),
      ),
    }),
  },
  { $id: 'Error' },
);

// --- checking ----------------------------------------------------------------------------------

export interface CompiledSchema {
  params?: TypeCheck<TObject>;
  query?: TypeCheck<TObject>;
  body?: TypeCheck<TSchema>;
  /** Query properties given as comma lists, and those read as numbers. */
  lists: ReadonlySet<string>;
  numbers: ReadonlySet<string>;
}

export function compileSchema(s: RouteSchema): CompiledSchema {
  const lists = new Set<string>();
  const numbers = new Set<string>();
  for (const [name, p] of Object.entries(s.query?.properties ?? {})) {
    const t = (p as { type?: string }).type;
    if (t === 'array') lists.add(name);
    if (t === 'integer' || t === 'number') numbers.add(name);
  }
  return {
    ...(s.params ? { params: TypeCompiler.Compile(s.params) } : {}),
    ...(s.query ? { query: TypeCompiler.Compile(s.query) } : {}),
    ...(s.body ? { body: TypeCompiler.Compile(s.body) } : {}),
    lists,
    numbers,
  };
}

/** The query string as an object for its schema: lists split, numbers read; empty values left out. */
export function queryObject(url: URL, c: CompiledSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of url.searchParams) {
    if (raw === '') continue;
    // A list may be given once as a comma list or repeated (?status=new&status=graded).
    if (c.lists.has(name))
      out[name] = url.searchParams
        .getAll(name)
        .flatMap((v) => v.split(','))
        .map((x) => x.trim())
        .filter((x) => x !== '');
    else if (c.numbers.has(name) && /^-?\d{1,16}(\.\d+)?$/.test(raw)) out[name] = Number(raw);
    else out[name] = raw;
  }
  return out;
}

/** Checks `value` against `check`; returns the decoded value or throws 400 naming the first bad field. */
export function validate<T extends TSchema>(
  check: TypeCheck<T>,
  value: unknown,
  where: 'params' | 'query' | 'body',
) {
  if (!check.Check(value)) {
    // A misspelt field explains the "required" error that comes with it: name the typo first.
    const errors = closestVariant([...check.Errors(value)].slice(0, 20));
    const typo = errors.find((e) => e.type === ValueErrorType.ObjectAdditionalProperties);
    throw describeInvalid(typo ?? errors[0], where, value);
  }
  try {
    return check.Decode(value) as StaticDecode<T>;
  } catch (err) {
    // A transform refused a value its pattern let through (2026-02-31): name the field.
    const path = String((err as { path?: unknown }).path ?? '');
    const field = [where, ...path.split('/').filter((p) => p !== '')].join('.');
    const why = (err as { error?: Error }).error?.message ?? 'is not valid';
    throw badInput(`${field.slice(where.length + 1) || where} ${why}`, { field });
  }
}

/**
 * A body that may take one of several shapes (a union: enrol with a secret or with a code): the
 * errors of the shape it came closest to (fewest errors), so the message names a field of it
 * rather than "body is not valid".
 */
function closestVariant(errors: ValueError[]): ValueError[] {
  const first = errors[0];
  if (first?.type !== ValueErrorType.Union || first.errors.length === 0) return errors;
  const variants = (first.schema as { anyOf?: { type?: string; properties?: object }[] }).anyOf ?? [];
  // A union of values (Literals: "one of …") says it best as a whole; only shapes are chosen between.
  if (!variants.every((v) => v.type === 'object')) return errors;
  const given =
    typeof first.value === 'object' && first.value !== null ? Object.keys(first.value as object) : [];
  let best: { list: ValueError[]; paths: number; known: number } | undefined;
  for (const [i, it] of first.errors.entries()) {
    const list = [...it].slice(0, 20);
    if (list.length === 0) continue;
    const paths = new Set(list.map((e) => e.path)).size;
    // On a tie, the shape whose fields the caller sent (a `code` means the BYOD shape).
    const known = given.filter((k) => k in (variants[i]?.properties ?? {})).length;
    if (!best || paths < best.paths || (paths === best.paths && known > best.known))
      best = { list, paths, known };
  }
  return best ? closestVariant(best.list) : errors;
}

function describeInvalid(e: ValueError | undefined, where: string, value: unknown) {
  if (!e) return badInput(`${where} is not valid`, { field: where });
  const path = e.path
    .split('/')
    .filter((p) => p !== '')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const field = [where, ...path].join('.');
  if (
    path.length === 0 &&
    where === 'body' &&
    (typeof value !== 'object' || value === null || Array.isArray(value))
  )
    return badInput('send a JSON object (content-type application/json)', { field });
  const wanted = (e.schema as { description?: string }).description;
  const named = path.map((p, i) => (i > 0 && /^\d+$/.test(p) ? `item ${Number(p) + 1}` : p)).join(' ');
  // Echo a short bad value so the person sees which one (it is their own input, sent back as JSON).
  const shown =
    typeof e.value === 'string' && e.value.length <= 40 && e.type !== ValueErrorType.ObjectRequiredProperty
      ? ` (${JSON.stringify(e.value)})`
      : '';
  const label = `${where === 'params' ? 'path parameter ' : ''}${named || where}${shown}`;
  let message: string;
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      message = `${label} is required${wanted ? `: ${wanted}` : ''}`;
      break;
    case ValueErrorType.ObjectAdditionalProperties:
      message = `${label} is not a field this accepts (check the spelling; the API reference is /api/v1/openapi.json)`;
      break;
    default:
      message = `${label} is not valid${wanted ? `: send ${wanted}` : ` (${e.message.toLowerCase()})`}`;
  }
  return badInput(message, { field });
}
