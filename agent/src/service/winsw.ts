// Windows: node.exe does not speak the Service Control Manager protocol (sc.exe would start it
// and kill it ~30 s later), so the agent runs under WinSW, a small service wrapper configured by
// an XML file next to its exe. This generates that XML (restart on failure, auto start).
// [Generator tested here; not run on Windows yet.]
import { xmlEscape } from './launchd.ts';
import { programArgs, type ServiceSpec } from './service-spec.ts';

/** Windows command-line quoting for one argument (CommandLineToArgvW rules). */
export function windowsQuote(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) return arg;
  let out = '"';
  let slashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      slashes++;
      continue;
    }
    out += ch === '"' ? '\\'.repeat(slashes * 2 + 1) + '"' : '\\'.repeat(slashes) + ch;
    slashes = 0;
  }
  return `${out}${'\\'.repeat(slashes * 2)}"`;
}

export function winswXml(spec: ServiceSpec): string {
  const args = programArgs(spec).map(windowsQuote).join(' ');
  return `<service>
  <id>${xmlEscape(spec.name)}</id>
  <name>Custodian Agent</name>
  <description>${xmlEscape(spec.description)}</description>
  <executable>${xmlEscape(spec.nodePath)}</executable>
  <arguments>${xmlEscape(args)}</arguments>
  <startmode>Automatic</startmode>
  <delayedAutoStart>true</delayedAutoStart>
  <onfailure action="restart" delay="5 sec"/>
  <onfailure action="restart" delay="30 sec"/>
  <resetfailure>1 hour</resetfailure>
  <stoptimeout>15 sec</stoptimeout>
  <logpath>${xmlEscape(spec.logDir)}</logpath>
  <log mode="roll-by-size"><sizeThreshold>10240</sizeThreshold><keepFiles>5</keepFiles></log>
</service>
`;
}

export function winswInstructions(): string[] {
  return [
    'copy WinSW-x64.exe to C:\\Program Files\\Custodian\\custodian-agent.exe',
    'copy custodian-agent.xml next to it',
    '"C:\\Program Files\\Custodian\\custodian-agent.exe" install',
    '"C:\\Program Files\\Custodian\\custodian-agent.exe" start',
  ];
}
