// Query-string parsing for the collector's routes: every bad value is a 400 naming the field.
import { badInput } from './router.ts';

export function intParam(url: URL, name: string, min: number, max: number): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^\d{1,16}$/.test(raw)) throw badInput(`${name} must be a whole number`, { field: name });
  const n = Number(raw);
  if (n < min || n > max) throw badInput(`${name} must be from ${min} to ${max}`, { field: name });
  return n;
}

/** Milliseconds since the epoch, or an ISO 8601 date. */
export function timeParam(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  if (/^\d{1,15}$/.test(raw)) return Number(raw);
  const t = Date.parse(raw);
  if (Number.isNaN(t) || raw.length > 40)
    throw badInput(`${name} must be a time (ms since epoch or ISO 8601)`, { field: name });
  return t;
}

export function listParam(url: URL, name: string, allowed: readonly string[]): string[] | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const item of items) {
    if (!allowed.includes(item))
      throw badInput(`${name}: unknown value ${JSON.stringify(item.slice(0, 40))}`, { field: name });
  }
  return items;
}

export function textParam(url: URL, name: string, max: number): string | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  if (raw.length > max) throw badInput(`${name} is too long`, { field: name });
  return raw;
}

export function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badInput('send a JSON object');
  return body as Record<string, unknown>;
}
