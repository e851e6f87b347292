// Structured JSON logs (pino) on stdout. Screenshots, keys and tokens are never logged: the
// redact list is a backstop, not the rule (code must not pass them to the logger at all).
import { type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { svc: 'custodian-collector' },
      redact: {
        paths: [
          'deviceKey',
          '*.deviceKey',
          'secret',
          '*.secret',
          'token',
          '*.token',
          'data',
          '*.data',
          'req.headers.authorization',
          'req.headers.cookie',
        ],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ fd: 1, sync: true }),
  );
}
