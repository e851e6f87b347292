// The machine id sent at enrolment. node-machine-id reads the OS id (Linux machine-id, Windows
// MachineGuid, macOS IOPlatformUUID) but on Linux silently falls back to the hostname when no
// machine-id file exists (platform-notes §1): two laptops called "LAPTOP-1" would then be the
// same device. We refuse anything that does not look like a real OS id.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import machineIdPkg from 'node-machine-id';

const SHAPES: Record<string, RegExp> = {
  linux: /^[0-9a-f]{32}$/,
  win32: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  darwin: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
};

/** Checks a raw OS machine id and returns its SHA-256 (hex), which is what we send. Pure. */
export function checkMachineId(raw: string, host: string, platform: string): string {
  const id = raw.trim();
  if (id === '') throw new CustodianError(ErrorCode.UNAVAILABLE, 'this machine has no machine id (empty)');
  if (id.toLowerCase() === host.trim().toLowerCase())
    throw new CustodianError(
      ErrorCode.UNAVAILABLE,
      'the machine id is the hostname (no /etc/machine-id on this system); create one with ' +
        '`systemd-machine-id-setup` and enrol again',
    );
  const shape = SHAPES[platform];
  if (shape && !shape.test(id))
    throw new CustodianError(
      ErrorCode.UNAVAILABLE,
      `the machine id does not look like a ${platform} machine id`,
    );
  return createHash('sha256').update(id).digest('hex');
}

/**
 * Reads the OS machine id (node-machine-id spawns a shell once; bounded by a timeout here).
 * CUSTODIAN_AGENT_MACHINE_ID (32 hex digits) replaces it where several agents share one
 * machine on purpose (test suites, a lab image before it is personalised); it is checked the same way.
 */
export async function readMachineId(timeoutMs = 5_000): Promise<string> {
  const override = process.env['CUSTODIAN_AGENT_MACHINE_ID'];
  if (override !== undefined) return checkMachineId(override, hostname(), 'linux');
  let timer: NodeJS.Timeout | undefined;
  const raw = await Promise.race([
    machineIdPkg.machineId(true),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new CustodianError(ErrorCode.COMMAND_TIMEOUT, 'reading the machine id timed out')),
        timeoutMs,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  return checkMachineId(raw, hostname(), process.platform);
}
