// The data folder on Windows: the icacls call that leaves it to SYSTEM and Administrators (the
// Windows counterpart of mode 0700), and that a failure stops the caller before anything is written.
// Pure and with a scripted command runner: this machine has no Windows (under Wine, icacls is a stub
// that changes nothing and exits 0, so the ACL itself is not checked anywhere here).
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { describe, expect, it } from 'vitest';
import { privateDirAclArgs, restrictToSystem } from '../../src/platform/private-dir.win32.ts';

describe('private data folder (Windows)', () => {
  it('removes inherited entries and grants SYSTEM and Administrators only, by SID, inherited by what is inside', async () => {
    expect(privateDirAclArgs('C:\\ProgramData\\Custodian\\agent')).toEqual([
      'C:\\ProgramData\\Custodian\\agent',
      '/inheritance:r',
      '/grant:r',
      '*S-1-5-18:(OI)(CI)F',
      '*S-1-5-32-544:(OI)(CI)F',
    ]);
    const calls: [string, readonly string[]][] = [];
    await restrictToSystem('C:\\d', async (cmd, args) => {
      calls.push([cmd, args]);
      return { stdout: 'processed 1 files', stderr: '', exitCode: 0 };
    });
    expect(calls).toEqual([['icacls', privateDirAclArgs('C:\\d')]]);
  });

  it('a failed icacls is an error for the caller (nothing is written into a folder others can read)', async () => {
    const failing = async (): Promise<never> => {
      throw new CustodianError(ErrorCode.COMMAND_FAILED, 'icacls: exit 5: access denied');
    };
    await expect(restrictToSystem('C:\\d', failing)).rejects.toMatchObject({
      code: ErrorCode.COMMAND_FAILED,
    });
  });
});
