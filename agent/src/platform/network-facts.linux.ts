// Linux network facts: /proc/net/route, /proc/net/ipv6_route and /proc/net/arp (the reading
// process's own network namespace), /etc/resolv.conf, and only where needed a command through
// exec.ts with a timeout: `resolvectl domain` when resolv.conf is systemd-resolved's stub, `iw dev
// IF link` (else `nmcli`) when a Wi-Fi interface exists. A wired machine spawns nothing. The SSID
// is asked again only when the gateways change or after SSID_TTL_MS, so a Wi-Fi laptop spawns at
// most one `iw` a minute while nothing moves.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run as defaultRun } from './exec.ts';
import type { NetworkFacts, NetworkFactsOptions, NetworkFactsSource } from './network-facts.ts';
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
} from './network-parse.linux.ts';

const COMMAND_TIMEOUT_MS = 2_000;
export const SSID_TTL_MS = 60_000;

export function createLinuxNetworkFacts(options: NetworkFactsOptions = {}): NetworkFactsSource {
  const root = options.root ?? '/';
  const run = options.run ?? defaultRun;
  const file = (p: string) => readFile(join(root, p), 'utf8').catch(() => undefined);
  let ssidCache: { key: string; at: number; ssids: string[]; note?: string } | undefined;

  const readSsids = async (ifaces: string[]): Promise<{ ssids: string[]; note?: string }> => {
    const ssids: string[] = [];
    let iwMissing = false;
    for (const iface of ifaces) {
      try {
        const ssid = parseIwLink(
          (await run('iw', ['dev', iface, 'link'], { timeoutMs: COMMAND_TIMEOUT_MS })).stdout,
        );
        if (ssid) ssids.push(ssid);
      } catch {
        iwMissing = true;
        break;
      }
    }
    if (!iwMissing) return { ssids };
    try {
      const out = await run('nmcli', ['-t', '-f', 'active,ssid', 'dev', 'wifi'], {
        timeoutMs: COMMAND_TIMEOUT_MS,
      });
      return { ssids: parseNmcliWifi(out.stdout) };
    } catch {
      return { ssids: [], note: 'SSID not readable: neither iw nor nmcli answered' };
    }
  };

  return {
    availability: () => ({
      available: true,
      reason: 'gateway, DNS search domain and SSID (iw or nmcli) read locally',
    }),
    async read(): Promise<NetworkFacts> {
      const notes: string[] = [];
      const [route, route6, arpText, resolv, wireless] = await Promise.all([
        file('proc/net/route'),
        file('proc/net/ipv6_route'),
        file('proc/net/arp'),
        file('etc/resolv.conf'),
        file('proc/net/wireless'),
      ]);
      if (route === undefined) throw new Error('/proc/net/route is not readable');
      const arp = parseProcArp(arpText ?? '');
      const gateways = [...parseProcRoute(route), ...parseProcIpv6Route(route6 ?? '')].map((g) => ({
        ...g,
        mac: arp.get(g.ip) ?? '',
      }));

      const conf = parseResolvConf(resolv ?? '');
      let dnsSuffixes = conf.searchDomains;
      if (isResolvedStub(conf.nameservers)) {
        try {
          const out = await run('resolvectl', ['domain'], { timeoutMs: COMMAND_TIMEOUT_MS });
          dnsSuffixes = [...new Set([...dnsSuffixes, ...parseResolvectlDomain(out.stdout)])];
        } catch (err) {
          notes.push(`per-link DNS domains not readable (resolvectl: ${(err as Error).message})`);
        }
      }

      let ssids: string[] = [];
      const wifi = parseProcWireless(wireless ?? '');
      if (wifi.length > 0) {
        const key = JSON.stringify([wifi, gateways]);
        const now = Date.now();
        if (!ssidCache || ssidCache.key !== key || now - ssidCache.at > SSID_TTL_MS)
          ssidCache = { key, at: now, ...(await readSsids(wifi)) };
        ssids = ssidCache.ssids;
        if (ssidCache.note) notes.push(ssidCache.note);
      }
      return { gateways, dnsSuffixes, ssids, notes };
    },
  };
}
