// When a BYOD device is monitored (issue 19): on the school's network (network rules), within
// school hours, both, or always. School-owned devices are always monitored; this section does
// not apply to them. Validated with the rest of the policy (validatePolicy).
import { isIP } from 'node:net';
import type { custodian } from '@custodian/protocol';
import type { Static } from '@sinclair/typebox';
import { minutesOf, validTimeZone } from './local-time.ts';
import {
  asList,
  asObj,
  asText,
  defaultsOf,
  type Issues,
  List,
  OneOf,
  pick,
  Section,
  schemaIssues,
  Text,
  withAbsentDefaults,
} from './schema-kit.ts';

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

const MAC = '^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$';
// A DNS domain, as given: any case, an optional leading and trailing dot (normalised away).
const LABEL = '[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?';
const DOMAIN = `^\\.?(${LABEL}\\.)*${LABEL}\\.?$`;
const START = '^([01][0-9]|2[0-3]):[0-5][0-9]$';
const END = '^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$';
const HOST_PORT = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]{1,5})$/;

/**
 * One school network. Every non-empty criterion must match; rules are alternatives. The lists and
 * collectorLan may be absent (a rule stored before they existed): empty.
 */
export const ScopeNetworkRuleSchema = Section({
  name: Text(64, '', {
    description: 'Shown to the user and IT ("Main site Wi-Fi"); the only location detail an event carries.',
  }),
  gatewayIps: List(Text(45, '', { format: 'ip', mustBe: 'be an IPv4 or IPv6 address' }), 16, {
    absentIsDefault: true,
    description: 'Default gateway addresses (IPv4 or IPv6), any of them.',
  }),
  gatewayMacs: List(Text(17, '', { pattern: MAC, mustBe: 'be a MAC address like "52:54:00:12:34:56"' }), 16, {
    absentIsDefault: true,
    description: "The gateway's MAC address (stored lower case, colon separated), any of them.",
  }),
  dnsSuffixes: List(
    Text(253, '', { pattern: DOMAIN, mustBe: 'be a DNS domain like "school.internal"' }),
    16,
    {
      absentIsDefault: true,
      description:
        "DNS search domain handed out by the school's DHCP (stored lower case, no leading dot), any of them.",
    },
  ),
  ssids: List(Text(32, ''), 16, {
    absentIsDefault: true,
    description: 'Wi-Fi network names, any of them (where the OS lets the agent read the SSID).',
  }),
  collectorLan: Text(60, '', {
    absentIsDefault: true,
    description:
      '"IP:port" (IPv6 as "[IP]:port") of the collector on the school LAN answering a TCP connect; empty = not checked.',
  }),
});
export type ScopeNetworkRule = Static<typeof ScopeNetworkRuleSchema>;

export const HoursPeriodSchema = Section({
  days: List(OneOf(WEEKDAYS, 'mon'), 7, { minItems: 1, mustBe: 'name at least one day' }),
  start: Text(5, '08:00', {
    pattern: START,
    mustBe: 'be a time "HH:MM" from 00:00 to 23:59',
    description: '"HH:MM", local time in the hours\' timezone.',
  }),
  end: Text(5, '16:00', {
    pattern: END,
    mustBe: 'be a time "HH:MM" from 00:01 to 24:00',
    description: '"HH:MM", after start ("24:00" = midnight at the end of the day).',
  }),
});
export type HoursPeriod = Static<typeof HoursPeriodSchema>;

export const SchoolHoursSchema = Section({
  timezone: Text(64, 'Europe/London', {
    description: 'IANA time zone name, e.g. "Europe/London" (handles BST/GMT).',
  }),
  periods: List(HoursPeriodSchema, 14),
});
export type SchoolHours = Static<typeof SchoolHoursSchema>;

/**
 * The section. Absent (a policy stored, or sent by a collector, before scopes existed) it is the
 * default, `always`, which is what such a policy meant.
 */
export const ByodScopeSchema = Section(
  {
    mode: OneOf(BYOD_SCOPE_MODES, 'always'),
    networks: List(ScopeNetworkRuleSchema, 32),
    hours: SchoolHoursSchema,
  },
  { absentIsDefault: true, description: 'When a BYOD device is monitored (school-owned devices: always).' },
);
export type ByodScope = Static<typeof ByodScopeSchema>;

export function defaultByodScope(): ByodScope {
  return defaultsOf(ByodScopeSchema);
}

export const MODES_NEEDING_NETWORK: readonly ByodScopeMode[] = ['on-premises', 'on-premises-and-hours'];
export const MODES_NEEDING_HOURS: readonly ByodScopeMode[] = ['school-hours', 'on-premises-and-hours'];

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

/** The limits of sense beyond each field's shape: what one field means next to the others. */
function ruleSense(issues: Issues, path: string, value: unknown): void {
  const r = asObj(value);
  for (const [i, v] of asList(r['ssids']).entries()) {
    const s = asText(v);
    if (s === '' || Buffer.byteLength(s) > 32)
      issues.push(`${path}.ssids[${i}] must be a Wi-Fi name of 1 to 32 bytes`);
  }
  if (asText(r['name']).trim() === '')
    issues.push(`${path}.name must name the network (shown to the user and IT)`);
  const lan = asText(r['collectorLan']);
  if (lan !== '' && !parseHostPort(lan))
    issues.push(`${path}.collectorLan must be "IP:port" (an address on the school LAN, not a host name)`);
  const count = (k: string) => asList(r[k]).length;
  const others = count('gatewayMacs') + count('dnsSuffixes') + count('ssids') + (lan === '' ? 0 : 1);
  if (others + count('gatewayIps') === 0)
    issues.push(
      `${path} must have at least one of gatewayIps, gatewayMacs, dnsSuffixes, ssids, collectorLan`,
    );
  else if (others === 0)
    // 192.168.1.1 and 10.0.0.1 are the gateway of countless homes: alone, it would monitor pupils there.
    issues.push(
      `${path} must not match on gatewayIps alone (home routers share the same addresses); add gatewayMacs, dnsSuffixes, ssids or collectorLan`,
    );
}

function periodSense(issues: Issues, path: string, value: unknown): void {
  const p = asObj(value);
  const days = asList(p['days']);
  if (new Set(days).size !== days.length) issues.push(`${path}.days must not repeat a day`);
  const start = asText(p['start']);
  const end = asText(p['end']);
  if (new RegExp(START).test(start) && new RegExp(END).test(end) && minutesOf(end) <= minutesOf(start))
    issues.push(`${path}.end must be after ${path}.start (a period does not cross midnight)`);
}

/** The section's relations (its fields' shape is ByodScopeSchema's): pushes what is wrong onto `issues`. */
export function byodScopeRelations(issues: Issues, value: unknown): void {
  // Not an object: the shape's issue says so; there are no relations to check.
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  const s = asObj(value);
  const networks = asList(s['networks']);
  for (const [i, n] of networks.entries()) ruleSense(issues, `byodScope.networks[${i}]`, n);
  const hours = asObj(s['hours']);
  const periods = asList(hours['periods']);
  for (const [i, p] of periods.entries()) periodSense(issues, `byodScope.hours.periods[${i}]`, p);
  if (typeof hours['timezone'] === 'string' && !validTimeZone(hours['timezone']))
    issues.push(
      `byodScope.hours.timezone must be an IANA time zone like "Europe/London" (got ${JSON.stringify(hours['timezone'])})`,
    );
  const names = networks.map((n) => asObj(n)['name']);
  if (new Set(names).size !== names.length) issues.push('byodScope.networks names must be different');
  const mode = s['mode'] as ByodScopeMode;
  if (MODES_NEEDING_NETWORK.includes(mode) && networks.length === 0)
    issues.push(`byodScope.networks must list at least one school network when byodScope.mode is ${mode}`);
  if (MODES_NEEDING_HOURS.includes(mode) && periods.length === 0)
    issues.push(`byodScope.hours.periods must list the school hours when byodScope.mode is ${mode}`);
}

/** Stored forms: MACs lower case and colon separated, domains lower case without the dots around. */
export function normaliseByodScope(scope: ByodScope): ByodScope {
  for (const n of scope.networks) {
    n.gatewayIps = n.gatewayIps.map((v) => v.toLowerCase());
    n.gatewayMacs = n.gatewayMacs.map((v) => v.toLowerCase().replace(/-/g, ':'));
    n.dnsSuffixes = n.dnsSuffixes.map((v) => v.toLowerCase().replace(/^\./, '').replace(/\.$/, ''));
  }
  return scope;
}

/**
 * Validates the section (pushing onto `issues`) and returns it normalised. An absent section is
 * the default; a present one is checked field by field (ByodScopeSchema), then as a whole.
 */
export function validateByodScope(issues: Issues, value: unknown): ByodScope {
  const v = value === undefined ? defaultByodScope() : withAbsentDefaults(ByodScopeSchema, value);
  const found = [...schemaIssues(ByodScopeSchema, v, 'byodScope')];
  byodScopeRelations(found, v);
  issues.push(...found);
  return found.length === 0 ? normaliseByodScope(pick<ByodScope>(ByodScopeSchema, v)) : defaultByodScope();
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
