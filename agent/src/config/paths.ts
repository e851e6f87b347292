// Where the agent keeps its state. One data dir, owner-only (0700); files inside 0600.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultDataDir(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  if (process.platform === 'win32')
    return join(process.env['ProgramData'] ?? 'C:\\ProgramData', 'Custodian', 'agent');
  if (uid === 0)
    return process.platform === 'darwin'
      ? '/Library/Application Support/Custodian/agent'
      : '/var/lib/custodian-agent';
  return join(homedir(), '.local', 'share', 'custodian-agent');
}

export interface DataPaths {
  dir: string;
  credentials: string;
  policy: string;
  status: string;
  outbox: string;
  blobs: string;
}

export function dataPaths(dir: string): DataPaths {
  return {
    dir,
    credentials: join(dir, 'credentials.json'),
    policy: join(dir, 'policy.json'),
    status: join(dir, 'status.json'),
    outbox: join(dir, 'outbox'),
    blobs: join(dir, 'blobs'),
  };
}
