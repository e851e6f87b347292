// Windows: not implemented, never run. The facts would come from `route print -4` (gateway),
// `arp -a` (its MAC), `ipconfig /all` ("Connection-specific DNS Suffix") and
// `netsh wlan show interfaces` (SSID; Windows 11 24H2 asks for location permission first).
// Until then a BYOD policy that needs the network keeps a Windows device out of scope.
import { type NetworkFactsSource, unavailableNetworkFacts } from './network-facts.ts';

export function createWin32NetworkFacts(): NetworkFactsSource {
  return unavailableNetworkFacts(
    'network facts are not read on Windows yet (route print, ipconfig /all, netsh wlan not wired): on-premises scope cannot be decided',
  );
}
