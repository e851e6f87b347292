// Windows force-install policy through reg.exe (browser-policy.win32.ts): the parser on reg.exe's
// output, and the commands the store runs against a registry held in memory that answers as
// reg.exe does (exit 1 for a missing key or value). The real reg.exe under Wine:
// test/e2e/package-msi-wine.test.ts.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { describe, expect, it } from 'vitest';
import { FORCELIST_VALUE_NAME } from '../../src/native-host/forcelist.ts';
import { createWin32BrowserPolicy, parseRegQueryValue } from '../../src/platform/browser-policy.win32.ts';
import type { ExecRunner } from '../../src/platform/idle.ts';
import { testdata } from '../enforce/harness.ts';

const ID = 'abcdefghijklmnopabcdefghijklmnop';
const OURS = `${ID};https://custodian.school.uk/ext/updates.xml`;
const SCHOOL = `${'c'.repeat(32)};https://clients2.google.com/service/update2/crx`;
const CHROME = 'HKLM\\SOFTWARE\\Policies\\Google\\Chrome\\ExtensionInstallForcelist';
const EDGE = 'HKLM\\SOFTWARE\\Policies\\Microsoft\\Edge\\ExtensionInstallForcelist';
const AGENT = 'HKLM\\SOFTWARE\\Custodian\\Agent';

/** reg.exe over a map of key → (name → REG_SZ data), printing what reg.exe prints. */
function fakeReg(initial: Record<string, Record<string, string>>) {
  const keys = new Map(Object.entries(initial).map(([k, v]) => [k, new Map(Object.entries(v))]));
  const calls: string[] = [];
  const run: ExecRunner = async (cmd, args, options) => {
    calls.push([cmd, ...args].join(' '));
    expect(cmd).toBe('reg.exe');
    expect(options?.timeoutMs).toBeGreaterThan(0);
    const [verb, key = '', , name = ''] = args;
    const values = keys.get(key);
    const notFound = () => {
      if (!options?.okExitCodes?.includes(1))
        throw new CustodianError(ErrorCode.COMMAND_FAILED, `${cmd} ${args.join(' ')}: exit 1`);
      return {
        stdout: '',
        stderr: 'ERROR: The system was unable to find the specified registry key or value.\r\n',
        exitCode: 1,
      };
    };
    if (verb === 'query') {
      const data = values?.get(name);
      if (data === undefined) return notFound();
      return {
        stdout: `\r\n${key.replace('HKLM', 'HKEY_LOCAL_MACHINE')}\r\n    ${name}    REG_SZ    ${data}\r\n\r\n`,
        stderr: '',
        exitCode: 0,
      };
    }
    if (verb === 'add') {
      expect(args.slice(3)).toEqual([name, '/t', 'REG_SZ', '/d', args[7], '/f']);
      keys.set(key, (values ?? new Map()).set(name, args[7] ?? ''));
    } else if (verb === 'delete') {
      expect(args.at(-1)).toBe('/f');
      if (!values?.delete(name)) return notFound();
    }
    return { stdout: 'The operation completed successfully.\r\n', stderr: '', exitCode: 0 };
  };
  return { run, calls, keys };
}

describe('reg query output (captured under Wine)', () => {
  it('finds the named value beside others, with its type and data', () => {
    const out = testdata('windows/reg-query-forcelist.txt');
    expect(parseRegQueryValue(out, FORCELIST_VALUE_NAME)).toEqual({ type: 'REG_SZ', data: OURS });
    expect(parseRegQueryValue(out, '1')).toEqual({ type: 'REG_SZ', data: SCHOOL });
    expect(parseRegQueryValue(out, '2')).toBeUndefined();
    expect(parseRegQueryValue(testdata('windows/reg-query-forcelist-one.txt'), FORCELIST_VALUE_NAME)).toEqual(
      {
        type: 'REG_SZ',
        data: OURS,
      },
    );
    // Wine's "not found" text on stdout (exit 1, which the store reads as absent before parsing).
    expect(parseRegQueryValue(testdata('windows/reg-query-missing-value.txt'), '77')).toBeUndefined();
  });

  it('reads an empty value and a name with spaces', () => {
    const out =
      '\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Custodian\\Agent\r\n    Server    REG_SZ    https://c.uk\r\n    BrowserPolicy    REG_SZ    \r\n    A name    REG_DWORD    0x1\r\n\r\n';
    expect(parseRegQueryValue(out, 'BrowserPolicy')).toEqual({ type: 'REG_SZ', data: '' });
    expect(parseRegQueryValue(out, 'browserpolicy')).toEqual({ type: 'REG_SZ', data: '' });
    expect(parseRegQueryValue(out, 'A name')).toEqual({ type: 'REG_DWORD', data: '0x1' });
    expect(parseRegQueryValue(out, 'Server')).toEqual({ type: 'REG_SZ', data: 'https://c.uk' });
  });
});

describe('Windows force-install store (reg.exe)', () => {
  it("reads IT's BROWSER_POLICY from the MSI's key; absent or empty: nothing requested", async () => {
    expect(
      await createWin32BrowserPolicy({
        run: fakeReg({ [AGENT]: { BrowserPolicy: ' force-install ' } }).run,
      }).requested(),
    ).toBe('force-install');
    expect(
      await createWin32BrowserPolicy({ run: fakeReg({ [AGENT]: { BrowserPolicy: '' } }).run }).requested(),
    ).toBeUndefined();
    expect(await createWin32BrowserPolicy({ run: fakeReg({}).run }).requested()).toBeUndefined();
  });

  it("adds its entry under its own name in Chrome's and Edge's keys; the school's entry 1 stays", async () => {
    const reg = fakeReg({ [CHROME]: { '1': SCHOOL } });
    const outcomes = await createWin32BrowserPolicy({ run: reg.run }).apply(OURS);
    expect(outcomes).toEqual([
      { browser: 'chrome', action: 'set' },
      { browser: 'edge', action: 'set' },
    ]);
    expect(Object.fromEntries(reg.keys.get(CHROME)!)).toEqual({ '1': SCHOOL, [FORCELIST_VALUE_NAME]: OURS });
    expect(Object.fromEntries(reg.keys.get(EDGE)!)).toEqual({ [FORCELIST_VALUE_NAME]: OURS });
    expect(reg.calls).toContain(`reg.exe add ${CHROME} /v ${FORCELIST_VALUE_NAME} /t REG_SZ /d ${OURS} /f`);
    // The next start finds it in place and writes nothing.
    reg.calls.length = 0;
    expect((await createWin32BrowserPolicy({ run: reg.run }).apply(OURS)).map((o) => o.action)).toEqual([
      'keep',
      'keep',
    ]);
    expect(reg.calls.filter((c) => !c.startsWith('reg.exe query'))).toEqual([]);
  });

  it('a foreign value under its name is a conflict, left as it is', async () => {
    const reg = fakeReg({ [EDGE]: { [FORCELIST_VALUE_NAME]: SCHOOL } });
    const outcomes = await createWin32BrowserPolicy({ run: reg.run }).apply(OURS);
    expect(outcomes[1]).toMatchObject({ browser: 'edge', action: 'conflict' });
    expect(reg.keys.get(EDGE)!.get(FORCELIST_VALUE_NAME)).toBe(SCHOOL);
  });

  it('removing (uninstall, or no longer requested) deletes only its own entries', async () => {
    const reg = fakeReg({
      [CHROME]: { '1': SCHOOL, [FORCELIST_VALUE_NAME]: OURS },
      [EDGE]: { [FORCELIST_VALUE_NAME]: SCHOOL },
    });
    const outcomes = await createWin32BrowserPolicy({ run: reg.run }).apply(undefined);
    expect(outcomes.map((o) => o.action)).toEqual(['delete', 'none']);
    expect(Object.fromEntries(reg.keys.get(CHROME)!)).toEqual({ '1': SCHOOL });
    expect(reg.keys.get(EDGE)!.get(FORCELIST_VALUE_NAME)).toBe(SCHOOL);
  });

  it('output reg.exe should not give (exit 0, no such value) is an error, not "absent"', async () => {
    const run: ExecRunner = async () => ({ stdout: 'garbage', stderr: '', exitCode: 0 });
    await expect(createWin32BrowserPolicy({ run }).apply(OURS)).rejects.toThrow(/no value in its output/);
  });
});
