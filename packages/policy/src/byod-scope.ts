// When a BYOD device is monitored (issue 19): on the school's network (network rules), within
// school hours, both, or always. School-owned devices are always monitored; this section does
// not apply to them. Validated with the rest of the policy (validatePolicy).
import { isIP } from 'node:net';
import type { custodian } from '@custodian/protocol';
import { type Issues, list, obj, oneOf, str } from './check.ts';
import { minutesOf, validTimeZone } from './local-time.ts';

/**
 * `always`: today's behaviour, monitored everywhere at any time (the default, so an upgrade changes
 * nothing; a school with a "whilst on the premises" policy sets one of the others before go-live).
 * `on-premises`: while a network rule matches. `school-hours`: within the periods of `hours`.
 * `on-premises-and-hours`: both at once.
 */
export const BYOD_SCOPE_MODES = ['always', 'on-premises', 'school-hours', 'on-premises-and-hours'] as const;
export type ByodScopeMode = (typeof BYOD_SCOPE_MODES)[number];

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** One school network. Every non-empty criterion must match; rules are alternatives. */
export interface ScopeNetworkRule {
  /** Shown to the user and IT ("Main site Wi-Fi"); the only location detail an event carries. */
  name: string;
  /** Default gateway addresses (IPv4 or IPv6), any of them. */
  gatewayIps: string[];
  /** The gateway's MAC address (lower case, colon separated), any of them. */
  gatewayMacs: string[];
  /** DNS search domain handed out by the school's DHCP (lower case, no leading dot), any of them. */
  dnsSuffixes: string[];
  /** Wi-Fi network names, any of them (where the OS lets the agent read the SSID). */
  ssids: string[];
  /** "IP:port" (IPv6 as "[IP]:port") of the collector on the school LAN answering a TCP connect; empty = not checked. */
  collectorLan: string;
}

export interface HoursPeriod {
  days: Weekday[];
  /** "HH:MM", local time in `SchoolHours.timezone`. */
  start: string;
  /** "HH:MM", after start ("24:00" = midnight at the end of the day). */
  end: string;
}

export interface SchoolHours {
  /** IANA time zone name, e.g. "Europe/London" (handles BST/GMT). */
  timezone: string;
  periods: HoursPeriod[];
}

export interface ByodScope {
  mode: ByodScopeMode;
  networks: ScopeNetworkRule[];
  hours: SchoolHours;
}

export function defaultByodScope(): ByodScope {
  return { mode: 'always', networks: [], hours: { timezone: 'Europe/London', periods: [] } };
}

export const MODES_NEEDING_NETWORK: readonly ByodScopeMode[] = ['on-premises', 'on-premises-and-hours'];
export const MODES_NEEDING_HOURS: readonly ByodScopeMode[] = ['school-hours', 'on-premises-and-hours'];

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const HHMM = /^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$/;
const HOST_PORT = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]{1,5})$/;

/** "IP:port" or "[IPv6]:port" → parts; undefined when it is not an IP literal with a port 1–65535. */
export function parseHostPort(value: string): { host: string; port: number } | undefined {
  const m = HOST_PORT.exec(value);
  if (!m) return undefined;
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (isIP(host) === 0 || (m[1] !== undefined && isIP(host) !== 6) || port < 1 || port > 65_535)
    return undefined;
  return { host, port };
}

function rule(issues: Issues, path: string, value: unknown): ScopeNetworkRule {
  const r = obj(issues, path, value);
  const strings = (field: string, max: number, each: (v: string, p: string) => string) =>
    list(issues, `${path}.${field}`, r[field] ?? [], 16, (v, p) => each(str(issues, p, v, max), p));
  const out: ScopeNetworkRule = {
    name: str(issues, `${path}.name`, r['name'], 64),
    gatewayIps: strings('gatewayIps', 45, (v, p) => {
      if (isIP(v) === 0) issues.push(`${p} must be an IPv4 or IPv6 address (got ${JSON.stringify(v)})`);
      return v.toLowerCase();
    }),
    gatewayMacs: strings('gatewayMacs', 17, (v, p) => {
      const mac = v.toLowerCase().replace(/-/g, ':');
      if (!MAC.test(mac)) issues.push(`${p} must be a MAC address like "52:54:00:12:34:56"`);
      return mac;
    }),
    dnsSuffixes: strings('dnsSuffixes', 253, (v, p) => {
      const d = v.toLowerCase().replace(/^\./, '').replace(/\.$/, '');
      if (!DOMAIN.test(d)) issues.push(`${p} must be a DNS domain like "school.internal"`);
      return d;
    }),
    ssids: strings('ssids', 32, (v, p) => {
      if (v === '' || Buffer.byteLength(v) > 32) issues.push(`${p} must be a Wi-Fi name of 1 to 32 bytes`);
      return v;
    }),
    collectorLan: str(issues, `${path}.collectorLan`, r['collectorLan'] ?? '', 60),
  };
  if (out.name.trim() === '') issues.push(`${path}.name must name the network (shown to the user and IT)`);
  if (out.collectorLan !== '' && !parseHostPort(out.collectorLan))
    issues.push(`${path}.collectorLan must be "IP:port" (an address on the school LAN, not a host name)`);
  const others =
    out.gatewayMacs.length + out.dnsSuffixes.length + out.ssids.length + (out.collectorLan === '' ? 0 : 1);
  if (others + out.gatewayIps.length === 0)
    issues.push(
      `${path} must have at least one of gatewayIps, gatewayMacs, dnsSuffixes, ssids, collectorLan`,
    );
  else if (others === 0)
    // 192.168.1.1 and 10.0.0.1 are the gateway of countless homes: alone, it would monitor pupils there.
    issues.push(
      `${path} must not match on gatewayIps alone (home routers share the same addresses); add gatewayMacs, dnsSuffixes, ssids or collectorLan`,
    );
  return out;
}

function period(issues: Issues, path: string, value: unknown): HoursPeriod {
  const p = obj(issues, path, value);
  const days = list(issues, `${path}.days`, p['days'], 7, (v, dp) => oneOf(issues, dp, v, WEEKDAYS));
  if (days.length === 0) issues.push(`${path}.days must name at least one day`);
  if (new Set(days).size !== days.length) issues.push(`${path}.days must not repeat a day`);
  const start = str(issues, `${path}.start`, p['start'], 5);
  const end = str(issues, `${path}.end`, p['end'], 5);
  const okStart = HHMM.test(start) && start !== '24:00';
  if (!okStart) issues.push(`${path}.start must be a time "HH:MM" from 00:00 to 23:59`);
  if (!HHMM.test(end)) issues.push(`${path}.end must be a time "HH:MM" from 00:01 to 24:00`);
  else if (okStart && minutesOf(end) <= minutesOf(start))
    issues.push(`${path}.end must be after ${path}.start (a period does not cross midnight)`);
  return { days, start, end };
}

/**
 * Validates the section. An absent section (a policy stored before scopes existed) is the
 * default, `always`, which is what such a policy meant; a present one is checked field by field.
 */
export function validateByodScope(issues: Issues, value: unknown): ByodScope {
  if (value === undefined) return defaultByodScope();
  const s = obj(issues, 'byodScope', value);
  const h = obj(issues, 'byodScope.hours', s['hours']);
  const scope: ByodScope = {
    mode: oneOf(issues, 'byodScope.mode', s['mode'], BYOD_SCOPE_MODES),
    networks: list(issues, 'byodScope.networks', s['networks'], 32, (v, p) => rule(issues, p, v)),
    hours: {
      timezone: str(issues, 'byodScope.hours.timezone', h['timezone'], 64),
      periods: list(issues, 'byodScope.hours.periods', h['periods'], 14, (v, p) => period(issues, p, v)),
    },
  };
  if (!validTimeZone(scope.hours.timezone))
    issues.push(
      `byodScope.hours.timezone must be an IANA time zone like "Europe/London" (got ${JSON.stringify(scope.hours.timezone)})`,
    );
  const names = scope.networks.map((n) => n.name);
  if (new Set(names).size !== names.length) issues.push('byodScope.networks names must be different');
  if (MODES_NEEDING_NETWORK.includes(scope.mode) && scope.networks.length === 0)
    issues.push(
      `byodScope.networks must list at least one school network when byodScope.mode is ${scope.mode}`,
    );
  if (MODES_NEEDING_HOURS.includes(scope.mode) && scope.hours.periods.length === 0)
    issues.push(`byodScope.hours.periods must list the school hours when byodScope.mode is ${scope.mode}`);
  return scope;
}

type Wire = custodian.v1.IByodScopePolicy;

export function byodScopeToWire(s: ByodScope): Wire {
  return {
    mode: s.mode,
    networks: s.networks.map((n) => ({ ...n })),
    hours: { timezone: s.hours.timezone, periods: s.hours.periods.map((p) => ({ ...p })) },
  };
}

/** Absent on the wire (a collector from before scopes): the default, `always`. Not yet validated. */
export function byodScopeFromWire(w: Wire | null | undefined): unknown {
  if (!w) return defaultByodScope();
  return {
    mode: w.mode || 'always',
    networks: (w.networks ?? []).map((n) => ({
      name: n.name ?? '',
      gatewayIps: n.gatewayIps ?? [],
      gatewayMacs: n.gatewayMacs ?? [],
      dnsSuffixes: n.dnsSuffixes ?? [],
      ssids: n.ssids ?? [],
      collectorLan: n.collectorLan ?? '',
    })),
    hours: {
      timezone: w.hours ? (w.hours.timezone ?? '') : defaultByodScope().hours.timezone,
      periods: (w.hours?.periods ?? []).map((p) => ({
        days: p.days ?? [],
        start: p.start ?? '',
        end: p.end ?? '',
      })),
    },
  };
}
