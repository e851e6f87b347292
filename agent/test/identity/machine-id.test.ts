import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkMachineId } from '../../src/identity/machine-id.ts';

describe('machine id', () => {
  const linuxId = '3d1219c7c4c5404aaa1f6d2a48adfda4';

  it('accepts a real Linux machine-id and sends only its SHA-256', () => {
    expect(checkMachineId(`${linuxId}\n`, 'laptop-1', 'linux')).toBe(
      createHash('sha256').update(linuxId).digest('hex'),
    );
  });

  it('refuses the hostname fallback of node-machine-id', () => {
    expect(() => checkMachineId('LAPTOP-1', 'laptop-1', 'linux')).toThrow(/hostname/);
    expect(() => checkMachineId('laptop-1\n', 'laptop-1', 'linux')).toThrow(/hostname/);
  });

  it('refuses empty or malformed ids', () => {
    expect(() => checkMachineId('', 'h', 'linux')).toThrow(/no machine id/);
    expect(() => checkMachineId('not-a-machine-id', 'h', 'linux')).toThrow(/does not look like/);
    expect(() => checkMachineId(linuxId, 'h', 'win32')).toThrow(/does not look like/);
  });

  it('accepts Windows MachineGuid and macOS IOPlatformUUID shapes', () => {
    expect(checkMachineId('6F1A2B3C-4D5E-6F70-8192-A3B4C5D6E7F8', 'PC', 'win32')).toHaveLength(64);
    expect(checkMachineId('6F1A2B3C-4D5E-6F70-8192-A3B4C5D6E7F8', 'mac', 'darwin')).toHaveLength(64);
  });
});
