// Pure parsers for the Linux network facts the BYOD scope decides on (issue 19): default
// gateways from /proc/net/route and /proc/net/ipv6_route, their MACs from /proc/net/arp, DNS
// search domains from resolv.conf or `resolvectl domain`, Wi-Fi interfaces from
// /proc/net/wireless and the SSID from `iw dev IF link` or `nmcli`. Tested on captured output
// (agent/test/platform/network-parse.test.ts). Nothing here runs anything.

import { canonicalIpv6 } from './network-facts.ts';

export interface DefaultGateway {
  ip: string;
  iface: string;
}

const RTF_UP = 0x1;
const RTF_GATEWAY = 0x2;

/** "010200C0" (little-endian hex, as the kernel prints it) → "192.0.2.1". */
function ipv4FromProcHex(hex: string): string | undefined {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return undefined;
  const n = Number.parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.');
}

/** 32 hex digits (/proc/net/ipv6_route) → canonical IPv6. */
function ipv6FromProcHex(hex: string): string | undefined {
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return undefined;
  return canonicalIpv6(hex.match(/.{4}/g)!.join(':'));
}

/** Default routes with a gateway, from /proc/net/route, lowest metric first. */
export function parseProcRoute(text: string): DefaultGateway[] {
  const out: { ip: string; iface: string; metric: number }[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface, dest, gw, flagsHex, , , metric, mask] = f;
    const flags = Number.parseInt(flagsHex ?? '', 16);
    if (dest !== '00000000' || mask !== '00000000') continue;
    if (!(flags & RTF_UP) || !(flags & RTF_GATEWAY)) continue;
    const ip = ipv4FromProcHex(gw ?? '');
    if (!ip || ip === '0.0.0.0' || !iface) continue;
    out.push({ ip, iface, metric: Number(metric) || 0 });
  }
  return out.sort((a, b) => a.metric - b.metric).map(({ ip, iface }) => ({ ip, iface }));
}

/** Default routes (::/0) with a next hop, from /proc/net/ipv6_route, lowest metric first. */
export function parseProcIpv6Route(text: string): DefaultGateway[] {
  const out: { ip: string; iface: string; metric: number }[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [dest, destLen, , , nextHop, metric, , , flagsHex, iface] = f;
    const flags = Number.parseInt(flagsHex ?? '', 16);
    if (!/^0{32}$/.test(dest ?? '') || destLen !== '00') continue;
    if (!(flags & RTF_UP) || !(flags & RTF_GATEWAY) || /^0{32}$/.test(nextHop ?? '')) continue;
    const ip = ipv6FromProcHex(nextHop ?? '');
    if (!ip || !iface) continue;
    out.push({ ip, iface, metric: Number.parseInt(metric ?? '0', 16) || 0 });
  }
  return out.sort((a, b) => a.metric - b.metric).map(({ ip, iface }) => ({ ip, iface }));
}

const ATF_COM = 0x2;

/** IPv4 address → MAC (lower case) of complete entries of /proc/net/arp. */
export function parseProcArp(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    const [ip, , flagsHex, mac] = f;
    if (!(Number.parseInt(flagsHex ?? '', 16) & ATF_COM)) continue;
    const m = (mac ?? '').toLowerCase();
    if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(m) || m === '00:00:00:00:00:00') continue;
    out.set(ip ?? '', m);
  }
  return out;
}

function domainOf(word: string): string | undefined {
  const d = word.toLowerCase().replace(/^\.+/, '').replace(/\.+$/, '');
  return /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(d) ? d : undefined;
}

/** `search` and `domain` domains of a resolv.conf (the last `search` line wins, as in glibc), and its nameservers. */
export function parseResolvConf(text: string): { searchDomains: string[]; nameservers: string[] } {
  let search: string[] = [];
  let domain: string[] = [];
  const nameservers: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'search') search = rest.flatMap((w) => domainOf(w) ?? []);
    else if (key === 'domain') domain = rest.slice(0, 1).flatMap((w) => domainOf(w) ?? []);
    else if (key === 'nameserver' && rest[0]) nameservers.push(rest[0]);
  }
  return { searchDomains: [...new Set([...search, ...domain])], nameservers };
}

/** True when resolv.conf only points at systemd-resolved's stub (the real domains are per link). */
export function isResolvedStub(nameservers: readonly string[]): boolean {
  return nameservers.length > 0 && nameservers.every((n) => n === '127.0.0.53' || n === '127.0.0.54');
}

/**
 * `resolvectl domain` output ("Global: a.b", "Link 2 (eth0): school.internal ~."): search domains,
 * routing-only domains ("~x") left out.
 */
export function parseResolvectlDomain(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    for (const w of line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)) {
      if (w === '' || w.startsWith('~')) continue;
      const d = domainOf(w);
      if (d) out.push(d);
    }
  }
  return [...new Set(out)];
}

/** Interface names listed in /proc/net/wireless (two header lines, then "wlan0: 0000 ..."). */
export function parseProcWireless(text: string): string[] {
  return text
    .split('\n')
    .slice(2)
    .map((l) => /^\s*([^\s:]+):/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
}

/** `iw dev IF link`: the SSID when connected ("SSID: name"), undefined for "Not connected.". */
export function parseIwLink(text: string): string | undefined {
  const m = /^\s*SSID: (.*)$/m.exec(text);
  return m?.[1] !== undefined && m[1] !== '' ? m[1] : undefined;
}

/** `nmcli -t -f active,ssid dev wifi`: the active SSID ("yes:name"; ':' in a name is "\:"). */
export function parseNmcliWifi(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('yes:')) continue;
    const ssid = line.slice(4).replace(/\\(.)/g, '$1');
    if (ssid !== '') out.push(ssid);
  }
  return [...new Set(out)];
}
