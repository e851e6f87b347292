// The Windows MSI, built on Linux with wixl (msitools): the agent executable, its addon and data
// under Program Files\Custodian Agent, and custodian-service.exe (packaging/windows/service-host.c,
// compiled here with mingw-w64) installed as the LocalSystem service CustodianAgent, started at
// install, stopped and removed at uninstall. SERVER and ENROL_SECRET (msiexec … SERVER=… ENROL_SECRET=…,
// the way Intune and GPO pass properties) are for the host's first start: SERVER goes to
// HKLM\SOFTWARE\Custodian\Agent; the secret never goes there (every local user can read it) but, through
// a deferred custom action run as SYSTEM with its target hidden from the log, into a registry key only
// SYSTEM and Administrators can open (service-host.c `--store-enrol-secret`), deleted once enrolled and
// at uninstall. The secret is a hidden property too (not in msiexec logs). BROWSER_POLICY=force-install
// (issue 15) goes beside Server as "BrowserPolicy": the agent, once enrolled, then puts its collector's
// extension into Chrome's and Edge's HKLM force-install lists at each start; the RemoveBrowserPolicy
// custom action takes that entry out again at uninstall.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  WINDOWS_AGENT_EXE,
  WINDOWS_BROWSER_POLICY_VALUE,
  WINDOWS_HOST_LAUNCHER,
  WINDOWS_HOST_MANIFEST,
  WINDOWS_HOST_REGISTRY_KEYS,
  WINDOWS_INSTALL_DIR_NAME,
} from '../../agent/src/native-host/windows-layout.ts';
import { WINDOWS_UNINSTALL_WAIT_SECONDS } from '../../agent/src/service/windows.ts';
import { UNINSTALL_METHOD } from '../../protocol/src/uninstall.ts';
import { type SigningKey, signFile } from './sign.ts';

const HOST_SOURCE = fileURLToPath(new URL('../windows/service-host.c', import.meta.url));
/** Never changes: it ties every version of the product together for upgrades. */
const UPGRADE_CODE = '6f1c3a52-8a4e-4d2b-9a57-3c1e0b7d9e41';
export const SERVICE_NAME = 'CustodianAgent';
export const INSTALL_DIR_NAME = WINDOWS_INSTALL_DIR_NAME;
const AGENT_EXE_FILE_ID = 'AgentExe';
/**
 * Between StopServices (1900: the agent is gone, its outbox free) and DeleteServices (2000) /
 * RemoveFiles (3500). wixl 0.101 does not place `After="StopServices"` (it lands after
 * InstallFinalize), so the number is given; test/e2e/package-msi.test.ts checks the order.
 */
export const REPORT_UNINSTALL_SEQUENCE = 1950;
/** After InstallFiles (4000: the host is on disk), before StartServices (5900: its first start reads it). */
export const STORE_ENROL_SECRET_SEQUENCE = 5700;
/** After ReportUninstall, before DeleteServices and RemoveFiles (the agent exe must still be there). */
export const REMOVE_BROWSER_POLICY_SEQUENCE = 1960;
/** The key the host protects (service-host.c ENROL_KEY); removed with all its values at uninstall. */
export const ENROL_SECRET_KEY = 'SOFTWARE\\Custodian\\Agent\\Enrolment';
/** msidbCustomActionTypeHideTarget: the command line (with the secret) is not written to the log. */
const HIDE_TARGET = 8192;

export function buildServiceHost(outFile: string): void {
  execFileSync(
    'x86_64-w64-mingw32-gcc',
    [
      '-O2',
      '-municode',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-s',
      '-static',
      '-o',
      outFile,
      HOST_SOURCE,
      '-ladvapi32',
    ],
    { stdio: 'pipe' },
  );
}

/** Stable component GUIDs derived from the file's install path (MSI needs one per component). */
function guidFor(key: string): string {
  const h = createHash('sha256').update(`custodian-agent-msi:${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`.toUpperCase();
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

let ids = 0;
const id = (prefix: string) => `${prefix}${++ids}`;

interface Tree {
  xml: string;
  components: string[];
}

/** Directory and File elements for everything under `dir` (one component per file). */
function tree(dir: string, root: string, indent: string, skip: Set<string>): Tree {
  // wixl takes Source paths relative to its working directory (absolute ones fail): root is
  // linked as agent/ in the work dir.
  let out = '';
  const components: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    const rel = relative(root, p);
    if (skip.has(rel)) continue;
    if (e.isDirectory()) {
      const sub = tree(p, root, `${indent}  `, skip);
      out += `${indent}<Directory Id="${id('D')}" Name="${xml(e.name)}">\n${sub.xml}${indent}</Directory>\n`;
      components.push(...sub.components);
    } else {
      const c = id('C');
      components.push(c);
      const fileId = rel === WINDOWS_AGENT_EXE ? AGENT_EXE_FILE_ID : id('F');
      out += `${indent}<Component Id="${c}" Guid="${guidFor(rel)}" Win64="yes"><File Id="${fileId}" Name="${xml(e.name)}" Source="${xml(join('agent', rel))}" KeyPath="yes"/></Component>\n`;
    }
  }
  return { xml: out, components };
}

export function agentWxs(exeDir: string, version: string): string {
  ids = 0;
  const files = tree(exeDir, exeDir, '          ', new Set(['README.md']));
  return `<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="Custodian Agent" Language="1033" Version="${version}" Manufacturer="Custodian" UpgradeCode="${UPGRADE_CODE}">
    <Package InstallerVersion="500" Compressed="yes" InstallScope="perMachine" Description="Custodian endpoint agent" Comments="SERVER and ENROL_SECRET: the collector URL and the organisation's enrol secret; BROWSER_POLICY=force-install: the agent writes the browser extension's force-install policy"/>
    <Media Id="1" Cabinet="agent.cab" EmbedCab="yes"/>
    <Property Id="SecureCustomProperties" Value="SERVER;ENROL_SECRET;BROWSER_POLICY"/>
    <Property Id="MsiHiddenProperties" Value="ENROL_SECRET"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="${INSTALL_DIR_NAME}">
          <Component Id="ServiceHost" Guid="${guidFor('custodian-service.exe')}" Win64="yes">
            <File Id="ServiceHostExe" Name="custodian-service.exe" Source="custodian-service.exe" KeyPath="yes"/>
            <ServiceInstall Id="AgentService" Name="${SERVICE_NAME}" DisplayName="Custodian Agent" Description="Custodian endpoint agent (school device monitoring and policy)" Type="ownProcess" Start="auto" ErrorControl="normal" Account="LocalSystem" Vital="yes"/>
            <ServiceControl Id="AgentServiceControl" Name="${SERVICE_NAME}" Start="install" Stop="both" Remove="uninstall" Wait="yes"/>
          </Component>
          <Component Id="EnrolSettings" Guid="${guidFor('registry')}" Win64="yes">
            <RegistryKey Root="HKLM" Key="SOFTWARE\\Custodian\\Agent">
              <RegistryValue Name="Server" Type="string" Value="[SERVER]" KeyPath="yes"/>
              <RegistryValue Name="${WINDOWS_BROWSER_POLICY_VALUE}" Type="string" Value="[BROWSER_POLICY]"/>
            </RegistryKey>
          </Component>
${browserHostXml()}
${files.xml}        </Directory>
      </Directory>
    </Directory>
    <!-- Issue 17: an uninstall (not an upgrade's removal of the old version) tells the collector,
         as SYSTEM, once the service has stopped; bounded by the agent (${WINDOWS_UNINSTALL_WAIT_SECONDS} s), never failing the uninstall. -->
    <CustomAction Id="ReportUninstall" FileKey="${AGENT_EXE_FILE_ID}" ExeCommand="report-uninstall --method &quot;${UNINSTALL_METHOD.msi}&quot; --user &quot;[LogonUser]&quot; --wait-seconds ${WINDOWS_UNINSTALL_WAIT_SECONDS}" Execute="deferred" Impersonate="no" Return="ignore"/>
    <!-- Issue 17: the enrol secret only into the host's protected key (HideTarget is set after wixl). -->
    <CustomAction Id="StoreEnrolSecret" FileKey="ServiceHostExe" ExeCommand="--store-enrol-secret &quot;[ENROL_SECRET]&quot;" Execute="deferred" Impersonate="no" Return="check"/>
    <!-- Issue 15: the agent's own entry out of Chrome's and Edge's force-install lists (a school's stay). -->
    <CustomAction Id="RemoveBrowserPolicy" FileKey="${AGENT_EXE_FILE_ID}" ExeCommand="browser-policy --remove" Execute="deferred" Impersonate="no" Return="ignore"/>
    <InstallExecuteSequence>
      <Custom Action="ReportUninstall" Sequence="${REPORT_UNINSTALL_SEQUENCE}">REMOVE="ALL" AND NOT UPGRADINGPRODUCTCODE</Custom>
      <Custom Action="RemoveBrowserPolicy" Sequence="${REMOVE_BROWSER_POLICY_SEQUENCE}">REMOVE="ALL" AND NOT UPGRADINGPRODUCTCODE</Custom>
      <Custom Action="StoreEnrolSecret" Sequence="${STORE_ENROL_SECRET_SEQUENCE}">ENROL_SECRET AND NOT REMOVE="ALL"</Custom>
    </InstallExecuteSequence>
    <Feature Id="Agent" Level="1">
      <ComponentRef Id="ServiceHost"/>
      <ComponentRef Id="EnrolSettings"/>
      <ComponentRef Id="BrowserHost"/>
${files.components.map((c) => `      <ComponentRef Id="${c}"/>`).join('\n')}
    </Feature>
  </Product>
</Wix>
`;
}

/**
 * The browser extension's native-messaging host (issue 15): Chrome's and Edge's HKLM registry
 * values name the host manifest in the install folder. The running agent writes the manifest and
 * its .cmd launcher there (`run --browser-files <folder>`, once it knows its collector's extension
 * id); the MSI installs placeholders of both (no allowed origin, a launcher that exits 1) so that
 * uninstall removes the agent's versions too (wixl has no RemoveFile).
 */
function browserHostXml(): string {
  const value = `[INSTALLDIR]${WINDOWS_HOST_MANIFEST}`;
  return `          <Component Id="BrowserHost" Guid="${guidFor('browser-host')}" Win64="yes">
            <File Id="HostManifest" Name="${WINDOWS_HOST_MANIFEST}" Source="${WINDOWS_HOST_MANIFEST}" KeyPath="yes"/>
            <File Id="HostLauncher" Name="${WINDOWS_HOST_LAUNCHER}" Source="${WINDOWS_HOST_LAUNCHER}"/>
${Object.values(WINDOWS_HOST_REGISTRY_KEYS)
  .map(
    (key) => `            <RegistryValue Root="HKLM" Key="${xml(key)}" Type="string" Value="${xml(value)}"/>`,
  )
  .join('\n')}
          </Component>`;
}

/** The placeholders browserHostXml() installs (replaced by the agent once enrolled). */
function writeBrowserHostPlaceholders(work: string): void {
  writeFileSync(
    join(work, WINDOWS_HOST_MANIFEST),
    `${JSON.stringify({ name: WINDOWS_HOST_MANIFEST.replace(/\.json$/, ''), description: 'Custodian agent: not enrolled yet', path: WINDOWS_HOST_LAUNCHER, type: 'stdio', allowed_origins: [] }, null, 2)}\n`,
  );
  writeFileSync(
    join(work, WINDOWS_HOST_LAUNCHER),
    '@echo off\r\nrem Placeholder: the Custodian agent writes the host launcher once enrolled.\r\nexit /b 1\r\n',
  );
}

/**
 * What wixl 0.101 cannot write, set with msitools' msibuild (SQL on the built tables): HideTarget on
 * StoreEnrolSecret (wixl accepts the attribute and drops it), and a Registry row named "-" that
 * deletes the protected key with its values at uninstall (wixl has no RemoveRegistryKey).
 */
function afterWixl(msi: string): void {
  const sql = (q: string) => execFileSync('msibuild', [msi, '-q', q], { stdio: 'pipe' });
  sql(
    `UPDATE \`CustomAction\` SET \`Type\` = ${18 + 1024 + 2048 + HIDE_TARGET} WHERE \`Action\` = 'StoreEnrolSecret'`,
  );
  sql(
    `INSERT INTO \`Registry\` (\`Registry\`, \`Root\`, \`Key\`, \`Name\`, \`Component_\`) VALUES ('EnrolSecretKeyRemove', 2, '${ENROL_SECRET_KEY}', '-', 'EnrolSettings')`,
  );
}

export interface MsiInput {
  /** The win-x64 executable folder (custodian-agent.exe, classic-level.node, data/). */
  exeDir: string;
  work: string;
  outFile: string;
  version: string;
  sign?: SigningKey;
}

export async function buildAgentMsi(i: MsiInput): Promise<string> {
  mkdirSync(i.work, { recursive: true });
  const host = join(i.work, 'custodian-service.exe');
  buildServiceHost(host);
  if (i.sign) signFile(host, i.sign);
  writeBrowserHostPlaceholders(i.work);
  const wxs = join(i.work, 'custodian-agent.wxs');
  writeFileSync(wxs, agentWxs(i.exeDir, i.version));
  rmSync(join(i.work, 'agent'), { force: true });
  symlinkSync(resolve(i.exeDir), join(i.work, 'agent'));
  execFileSync('wixl', ['--arch', 'x64', '-o', i.outFile, wxs], { stdio: 'pipe', cwd: i.work });
  afterWixl(i.outFile);
  if (i.sign) signFile(i.outFile, i.sign);
  return i.outFile;
}
