// Is this device in monitoring scope now? (issue 19) A pure function of the enrolment kind,
// the policy's byodScope, the network facts, which collector LAN addresses answered and the
// time. School-owned devices and mode `always` are always in scope. Anything the agent cannot
// read counts as "not on the premises": outside scope is the safe side for a family's laptop.
import {
  type ByodScope,
  type ByodScopeMode,
  MODES_NEEDING_HOURS,
  MODES_NEEDING_NETWORK,
  minutesOf,
  type ScopeNetworkRule,
  type Weekday,
  localTime as wallClock,
} from '@custodian/policy';
import { canonicalIpv6, type NetworkFacts } from '../platform/network-facts.ts';

export interface ScopeInput {
  /** Enrolled with a BYOD code (credentials kind "byod"). */
  byod: boolean;
  /**
   * False until the collector's policy has arrived (version 0, the built-in default): a BYOD
   * device just enrolled does not know the school's scope yet, and waits outside it.
   */
  policyKnown: boolean;
  scope: ByodScope;
  /** Undefined: not readable (`factsError` says why) or not read. */
  facts: NetworkFacts | undefined;
  factsError?: string;
  /** collectorLan values ("IP:port") that answered a TCP connect just now. */
  reachable: ReadonlySet<string>;
  now: Date;
}

export interface ScopeDecision {
  /** False: a school-owned device or mode `always` — monitored at all times, nothing to decide. */
  applies: boolean;
  inScope: boolean;
  /** For the user and IT: fixed sentences and the matched rule's name, nothing of the network itself. */
  reason: string;
  /** The matched network rule's name; empty when none matched or none was needed. */
  rule: string;
  mode: ByodScopeMode;
}

export function needsNetwork(scope: ByodScope): boolean {
  return MODES_NEEDING_NETWORK.includes(scope.mode);
}

export function needsHours(scope: ByodScope): boolean {
  return MODES_NEEDING_HOURS.includes(scope.mode);
}

export function decideScope(input: ScopeInput): ScopeDecision {
  const { scope } = input;
  const mode = scope.mode;
  if (!input.byod)
    return {
      applies: false,
      inScope: true,
      reason: 'school-owned device: monitored at all times',
      rule: '',
      mode,
    };
  if (!input.policyKnown)
    return { applies: true, inScope: false, reason: "waiting for the school's policy", rule: '', mode };
  if (mode === 'always')
    return {
      applies: false,
      inScope: true,
      reason: 'BYOD policy "always": monitored at all times',
      rule: '',
      mode,
    };

  const parts: string[] = [];
  let inScope = true;
  let rule = '';
  if (needsNetwork(scope)) {
    if (!input.facts) {
      inScope = false;
      parts.push(`network not readable (${input.factsError ?? 'not read yet'}): treated as off the premises`);
    } else {
      const hit = scope.networks.find((r) => ruleMatches(r, input.facts!, input.reachable));
      if (hit) {
        rule = hit.name;
        parts.push(`on the school network "${hit.name}"`);
      } else {
        inScope = false;
        parts.push('not on a school network');
      }
    }
  }
  if (needsHours(scope)) {
    if (withinHours(scope, input.now)) parts.push('within school hours');
    else {
      inScope = false;
      parts.push('outside school hours');
    }
  }
  return { applies: true, inScope, reason: parts.join(', '), rule, mode };
}

function normIp(ip: string): string {
  return ip.includes(':') ? (canonicalIpv6(ip) ?? ip.toLowerCase()) : ip;
}

/** Every non-empty criterion of the rule matches. */
export function ruleMatches(
  rule: ScopeNetworkRule,
  facts: NetworkFacts,
  reachable: ReadonlySet<string>,
): boolean {
  const criteria: boolean[] = [];
  if (rule.gatewayIps.length > 0) {
    const want = new Set(rule.gatewayIps.map(normIp));
    criteria.push(facts.gateways.some((g) => want.has(normIp(g.ip))));
  }
  if (rule.gatewayMacs.length > 0) {
    const want = new Set(rule.gatewayMacs.map((m) => m.toLowerCase()));
    criteria.push(facts.gateways.some((g) => g.mac !== '' && want.has(g.mac.toLowerCase())));
  }
  if (rule.dnsSuffixes.length > 0) {
    const have = new Set(facts.dnsSuffixes.map((d) => d.toLowerCase()));
    criteria.push(rule.dnsSuffixes.some((d) => have.has(d.toLowerCase())));
  }
  if (rule.ssids.length > 0) criteria.push(rule.ssids.some((s) => facts.ssids.includes(s)));
  if (rule.collectorLan !== '') criteria.push(reachable.has(rule.collectorLan));
  return criteria.length > 0 && criteria.every(Boolean);
}

const DAY_NAMES: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** Weekday and minutes since midnight of `now` on the wall clock of `timezone`. */
export function localTime(now: Date, timezone: string): { day: Weekday; minutes: number } {
  const t = wallClock(now.getTime(), timezone);
  return { day: DAY_NAMES[t.weekday] as Weekday, minutes: t.minutes };
}

export function withinHours(scope: ByodScope, now: Date): boolean {
  const { day, minutes } = localTime(now, scope.hours.timezone);
  return scope.hours.periods.some(
    (p) => p.days.includes(day) && minutes >= minutesOf(p.start) && minutes < minutesOf(p.end),
  );
}
