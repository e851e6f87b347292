// A laptop that moves between a "school" and a "home" network, made of real Linux network
// namespaces (issue 19, BYOD scope): one namespace for the laptop with two veth links to the
// test's own namespace, one per network, each with its own gateway address and MAC. Moving is
// what a laptop sees when it changes networks: one link down (its routes and neighbour entries go),
// the other up with its default route, and the DHCP search domain rewritten in the namespace's
// resolv.conf (`ip netns exec` binds /etc/netns/NAME/resolv.conf over /etc/resolv.conf).
// Bounded: one namespace and two veth pairs per call, names unique per process; cleanup()
// removes them, and an exit hook removes whatever a crashed test left.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';

export interface Network {
  /** The gateway's address (in the test's namespace; the collector can listen on it). */
  gateway: string;
  gatewayMac: string;
  laptopIp: string;
  searchDomain: string;
}

export interface LaptopNetns {
  name: string;
  school: Network;
  home: Network;
  /** Runs a program inside the laptop's namespace (the agent-process `prefix`). */
  prefix: string[];
  atSchool(): void;
  atHome(): void;
  cleanup(): void;
}

const live = new Set<() => void>();
process.on('exit', () => {
  for (const c of live) c();
});

const ip = (...args: string[]) =>
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });

export function netnsUsable(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

export function createLaptopNetns(): LaptopNetns {
  const tag = randomBytes(3).toString('hex');
  const name = `cbyod-${tag}`;
  // Two /24s in 10.231.0.0/16 chosen per run, so parallel runs do not share an address.
  const octet = 10 + (randomBytes(1)[0]! % 120) * 2;
  const net = (
    third: number,
    domain: string,
    macTail: string,
    link: string,
  ): Network & { link: string; peer: string } => ({
    gateway: `10.231.${third}.1`,
    laptopIp: `10.231.${third}.2`,
    gatewayMac: `52:54:00:${tag.slice(0, 2)}:${tag.slice(2, 4)}:${macTail}`,
    searchDomain: domain,
    link: `${link}${tag}`, // test side, ≤ 15 characters
    peer: `${link}n${tag}`,
  });
  const school = net(octet, 'duston.internal', '01', 'cbs');
  const home = net(octet + 1, 'home.arpa', '02', 'cbh');
  const etc = `/etc/netns/${name}`;

  const cleanup = () => {
    live.delete(cleanup);
    for (const args of [
      ['netns', 'del', name],
      ['link', 'del', school.link],
      ['link', 'del', home.link],
    ]) {
      try {
        ip(...args);
      } catch {
        // already gone
      }
    }
    rmSync(etc, { recursive: true, force: true });
  };
  live.add(cleanup);
  try {
    ip('netns', 'add', name);
    mkdirSync(etc, { recursive: true });
    writeFileSync(`${etc}/resolv.conf`, '');
    for (const n of [school, home]) {
      ip('link', 'add', n.link, 'type', 'veth', 'peer', 'name', n.peer);
      ip('link', 'set', n.link, 'address', n.gatewayMac);
      ip('addr', 'add', `${n.gateway}/24`, 'dev', n.link);
      ip('link', 'set', n.link, 'up');
      ip('link', 'set', n.peer, 'netns', name);
      ip('-n', name, 'addr', 'add', `${n.laptopIp}/24`, 'dev', n.peer);
    }
    ip('-n', name, 'link', 'set', 'lo', 'up');
  } catch (err) {
    cleanup();
    throw err;
  }
  const join = (to: typeof school, from: typeof school) => {
    ip('-n', name, 'link', 'set', from.peer, 'down');
    ip('-n', name, 'link', 'set', to.peer, 'up');
    ip('-n', name, 'route', 'replace', 'default', 'via', to.gateway);
    // Rewritten in place: the bind mount inside `ip netns exec` follows the file, not a new one.
    writeFileSync(`${etc}/resolv.conf`, `search ${to.searchDomain}\nnameserver ${to.gateway}\n`);
  };
  const strip = ({ link: _l, peer: _p, ...n }: typeof school): Network => n;
  return {
    name,
    school: strip(school),
    home: strip(home),
    prefix: ['ip', 'netns', 'exec', name],
    atSchool: () => join(school, home),
    atHome: () => join(home, school),
    cleanup,
  };
}
