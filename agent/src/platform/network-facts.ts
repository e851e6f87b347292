// Network facts the BYOD scope decides on (issue 19): default gateways (with their MACs), DNS
// search domains, Wi-Fi network names. One interface, one file per OS, chosen here only.
// Reading them spawns nothing on a wired Linux machine (files under /proc and /etc only).
import type { ExecRunner } from './idle.ts';

export interface NetworkFacts {
  /** Default gateways, preferred first; `mac` empty when the neighbour table has no entry (IPv6: never read). */
  gateways: { ip: string; mac: string; iface: string }[];
  /** DNS search domains, lower case, no trailing dot. */
  dnsSuffixes: string[];
  /** Wi-Fi networks this machine is connected to now. */
  ssids: string[];
  /** What could not be read, in words IT staff understand ("SSID not readable: …"). */
  notes: string[];
}

export interface NetworkFactsSource {
  /** False (with the reason) where the agent cannot read network facts on this OS. */
  availability(): { available: boolean; reason: string };
  /** Rejects only when nothing could be read at all. */
  read(): Promise<NetworkFacts>;
}

export interface NetworkFactsOptions {
  /** Root for the /proc and /etc files (tests). Default "/". */
  root?: string;
  run?: ExecRunner;
}

export async function createNetworkFacts(
  options: NetworkFactsOptions = {},
  platform: NodeJS.Platform = process.platform,
): Promise<NetworkFactsSource> {
  switch (platform) {
    case 'linux':
      return (await import('./network-facts.linux.ts')).createLinuxNetworkFacts(options);
    case 'win32':
      return (await import('./network-facts.win32.ts')).createWin32NetworkFacts();
    case 'darwin':
      return (await import('./network-facts.darwin.ts')).createDarwinNetworkFacts();
    default:
      return unavailableNetworkFacts(`network facts are not read on ${platform}`);
  }
}

/** A source that can read nothing, saying why. */
export function unavailableNetworkFacts(reason: string): NetworkFactsSource {
  return {
    availability: () => ({ available: false, reason }),
    read: () => Promise.reject(new Error(reason)),
  };
}

/** IPv6 in its canonical compressed form ("fd00:0:0::1" → "fd00::1"); undefined when not IPv6. */
export function canonicalIpv6(ip: string): string | undefined {
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}
