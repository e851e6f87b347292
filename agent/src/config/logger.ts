// JSON lines on stderr (cross-team convention). Secrets never reach a log line: fields named
// like a credential are replaced before writing, as a last line of defence.
import type { AgentLogger } from '../core/contracts.ts';

const SECRET_FIELD = /key|secret|token|password|code/i;

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
      record[k] = SECRET_FIELD.test(k) && typeof v === 'string' ? '[redacted]' : serialise(v);
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
