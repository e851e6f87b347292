// JSON lines on stderr (cross-team convention). Secrets never reach a log line: fields whose
// name is exactly that of a credential are replaced before writing (at any depth), as a last
// line of defence. Exact names, not a pattern: a pattern like /code|key/ also ate error codes
// (`code: 'AUTH_FAILED'`), close codes and policy keys, and logs lost what operators need.
import type { AgentLogger } from '../core/contracts.ts';

/**
 * Every name under which the agent (or a library error it logs) can hold a credential, compared
 * case-insensitively with `_`/`-` removed (so `device_key`, `DEVICE-KEY` match `deviceKey`).
 * Enrolment: secret, enrolSecret, enrolCode (the BYOD one-time code; never log it as plain
 * `code`, which is the error-code field), deviceKey. X: cookie, xauthCookie. HTTP:
 * authorization, cookie, setCookie. TLS key material: key, privateKey, pfx, passphrase.
 * Generic: password, token, accessToken, refreshToken, apiKey.
 */
export const SECRET_FIELDS: readonly string[] = [
  'deviceKey',
  'secret',
  'enrolSecret',
  'enrolCode',
  'password',
  'passphrase',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'privateKey',
  'key',
  'pfx',
  'cookie',
  'setCookie',
  'xauthCookie',
  'authorization',
];
const SECRET = new Set(SECRET_FIELDS.map(normaliseName));
const MAX_DEPTH = 6;

function normaliseName(name: string): string {
  return name.replace(/[-_]/g, '').toLowerCase();
}

export function isSecretField(name: string): boolean {
  return SECRET.has(normaliseName(name));
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  level?: LogLevel;
  write?: (line: string) => void;
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions = {}): AgentLogger {
  const min = ORDER[options.level ?? envLevel()];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const base = options.base ?? {};
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const record: Record<string, unknown> = { time: new Date().toISOString(), level, msg, ...base };
    for (const [k, v] of Object.entries(fields ?? {})) {
      record[k] = isSecretField(k) ? REDACTED : redact(serialise(v), 0);
    }
    write(`${JSON.stringify(record)}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

const REDACTED = '[redacted]';

/** Copies plain objects and arrays, replacing secret-named fields at any depth. */
function redact(v: unknown, depth: number): unknown {
  if (v === null || typeof v !== 'object' || depth >= MAX_DEPTH) return v;
  if (Array.isArray(v)) return v.map((x) => redact(serialise(x), depth + 1));
  if (Object.getPrototypeOf(v) !== Object.prototype) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v))
    out[k] = isSecretField(k) ? REDACTED : redact(serialise(x), depth + 1);
  return out;
}

function serialise(v: unknown): unknown {
  if (v instanceof Error) {
    const code = (v as { code?: unknown }).code;
    return { message: v.message, ...(code !== undefined ? { code } : {}) };
  }
  return v;
}

function envLevel(): LogLevel {
  const l = process.env['CUSTODIAN_LOG_LEVEL'];
  return l === 'debug' || l === 'info' || l === 'warn' || l === 'error' ? l : 'info';
}

/** A logger that drops everything (unit tests of pure logic). */
export const silentLogger: AgentLogger = { debug() {}, info() {}, warn() {}, error() {} };
