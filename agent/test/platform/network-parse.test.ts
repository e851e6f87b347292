// The Linux network-fact parsers on captured output (network-samples.ts), and the Linux source
// reading a fixture root with a scripted command runner.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunOptions } from '../../src/platform/exec.ts';
import { createLinuxNetworkFacts } from '../../src/platform/network-facts.linux.ts';
import {
  isResolvedStub,
  parseIwLink,
  parseNmcliWifi,
  parseProcArp,
  parseProcIpv6Route,
  parseProcRoute,
  parseProcWireless,
  parseResolvConf,
  parseResolvectlDomain,
} from '../../src/platform/network-parse.linux.ts';
import * as S from './network-samples.ts';

describe('network parsers (captured output)', () => {
  it('/proc/net/route: the default gateway, not the on-link route', () => {
    expect(parseProcRoute(S.PROC_NET_ROUTE)).toEqual([{ ip: '10.231.9.1', iface: 'cbc-n' }]);
    expect(parseProcRoute(S.PROC_NET_ROUTE.split('\n')[0] ?? '')).toEqual([]);
  });

  it('/proc/net/ipv6_route: ::/0 with a next hop, not the reject route on lo', () => {
    expect(parseProcIpv6Route(S.PROC_NET_IPV6_ROUTE)).toEqual([{ ip: 'fd31::1', iface: 'cbc-n' }]);
  });

  it('/proc/net/arp: complete entries only', () => {
    expect([...parseProcArp(S.PROC_NET_ARP)]).toEqual([['10.231.9.1', '52:54:00:aa:bb:01']]);
  });

  it('resolv.conf: search and domain, trailing dots dropped; the stub is recognised', () => {
    expect(parseResolvConf(S.RESOLV_CONF)).toEqual({
      searchDomains: ['duston.internal', 'pupils.duston.internal'],
      nameservers: ['10.20.0.53'],
    });
    const stub = parseResolvConf(S.RESOLV_CONF_STUB);
    expect(stub.searchDomains).toEqual([]);
    expect(isResolvedStub(stub.nameservers)).toBe(true);
    expect(isResolvedStub(['10.20.0.53', '127.0.0.53'])).toBe(false);
  });

  it('resolvectl domain: search domains, routing-only "~" domains left out', () => {
    expect(parseResolvectlDomain(S.RESOLVECTL_DOMAIN)).toEqual(['duston.internal']);
  });

  it('Wi-Fi: interfaces from /proc/net/wireless, SSID from iw and nmcli', () => {
    expect(parseProcWireless(S.PROC_NET_WIRELESS)).toEqual(['wlp2s0']);
    expect(parseIwLink(S.IW_LINK)).toBe('Duston-BYOD');
    expect(parseIwLink(S.IW_NOT_CONNECTED)).toBeUndefined();
    expect(parseNmcliWifi(S.NMCLI_WIFI)).toEqual(['Duston:BYOD']);
  });
});

let root: string | undefined;
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
});

async function fixtureRoot(files: Record<string, string>): Promise<string> {
  root = await mkdtemp(join(tmpdir(), 'custodian-netfacts-'));
  for (const [p, text] of Object.entries(files)) {
    await mkdir(join(root, p, '..'), { recursive: true });
    await writeFile(join(root, p), text);
  }
  return root;
}

describe('Linux network facts source', () => {
  it('a wired machine: gateway with its MAC and search domains, nothing spawned', async () => {
    const calls: string[] = [];
    const facts = createLinuxNetworkFacts({
      root: await fixtureRoot({
        'proc/net/route': S.PROC_NET_ROUTE,
        'proc/net/ipv6_route': S.PROC_NET_IPV6_ROUTE,
        'proc/net/arp': S.PROC_NET_ARP,
        'etc/resolv.conf': S.RESOLV_CONF,
      }),
      run: async (cmd) => {
        calls.push(cmd);
        return { stdout: '', stderr: '', exitCode: 0 };
      },
    });
    expect(await facts.read()).toEqual({
      gateways: [
        { ip: '10.231.9.1', iface: 'cbc-n', mac: '52:54:00:aa:bb:01' },
        { ip: 'fd31::1', iface: 'cbc-n', mac: '' },
      ],
      dnsSuffixes: ['duston.internal', 'pupils.duston.internal'],
      ssids: [],
      notes: [],
    });
    expect(calls).toEqual([]);
  });

  it('Wi-Fi behind systemd-resolved: resolvectl and iw with a timeout; iw missing → nmcli; both missing → a note', async () => {
    const base = {
      'proc/net/route': S.PROC_NET_ROUTE,
      'etc/resolv.conf': S.RESOLV_CONF_STUB,
      'proc/net/wireless': S.PROC_NET_WIRELESS,
    };
    const calls: { cmd: string; args: readonly string[]; timeoutMs: number | undefined }[] = [];
    const outputs: Record<string, string | Error> = {
      resolvectl: S.RESOLVECTL_DOMAIN,
      iw: S.IW_LINK,
      nmcli: S.NMCLI_WIFI,
    };
    const run = async (cmd: string, args: readonly string[], o: RunOptions = {}) => {
      calls.push({ cmd, args, timeoutMs: o.timeoutMs });
      const out = outputs[cmd];
      if (out === undefined || out instanceof Error) throw out ?? new Error(`${cmd} is not installed`);
      return { stdout: out, stderr: '', exitCode: 0 };
    };
    const withIw = await createLinuxNetworkFacts({ root: await fixtureRoot(base), run }).read();
    expect(withIw.dnsSuffixes).toEqual(['duston.internal']);
    expect(withIw.ssids).toEqual(['Duston-BYOD']);
    expect(calls.map((c) => [c.cmd, ...c.args].join(' '))).toEqual([
      'resolvectl domain',
      'iw dev wlp2s0 link',
    ]);
    expect(calls.every((c) => c.timeoutMs !== undefined && c.timeoutMs <= 5_000)).toBe(true);

    outputs['iw'] = new Error('iw is not installed');
    const withNm = await createLinuxNetworkFacts({ root: root!, run }).read();
    expect(withNm.ssids).toEqual(['Duston:BYOD']);

    outputs['nmcli'] = new Error('nmcli is not installed');
    const none = await createLinuxNetworkFacts({ root: root!, run }).read();
    expect(none.ssids).toEqual([]);
    expect(none.notes).toEqual(['SSID not readable: neither iw nor nmcli answered']);
  });

  it('no /proc/net/route: rejects (nothing could be read)', async () => {
    const facts = createLinuxNetworkFacts({ root: await fixtureRoot({ 'etc/resolv.conf': S.RESOLV_CONF }) });
    await expect(facts.read()).rejects.toThrow('/proc/net/route is not readable');
  });
});
