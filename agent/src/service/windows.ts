// Windows: node.exe does not speak the Service Control Manager protocol, so the agent runs under
// the service host the MSI ships beside it (custodian-service.exe, packaging/windows/service-host.c):
// the host is the service, runs `custodian-agent.exe run --stop-on-stdin-eof`, restarts it when it
// exits and stops it cleanly. The MSI registers it; these scripts do the same by hand (or from an
// MDM/RMM that runs a .cmd as SYSTEM) for a copy of the MSI's files in any folder.
// [Run under Wine 8 in test/e2e/package-msi-wine.test.ts; not run on Windows yet.]
import { CustodianError, ErrorCode, UNINSTALL_METHOD } from '@custodian/protocol';

/** The service's name: the same as the MSI's (packaging/src/msi.ts SERVICE_NAME). */
export const WINDOWS_SERVICE_NAME = 'CustodianAgent';
export const WINDOWS_SERVICE_HOST = 'custodian-service.exe';
export const WINDOWS_AGENT_EXE = 'custodian-agent.exe';

const DESCRIPTION = 'Custodian endpoint agent (school device monitoring and policy)';

/**
 * The service host always runs the agent with its default data directory
 * (%ProgramData%\Custodian\agent); another one cannot be given to a Windows service.
 */
export function checkWindowsDataDir(dataDir: string, defaultDir: string | undefined): void {
  if (dataDir !== defaultDir)
    throw new CustodianError(
      ErrorCode.INVALID_INPUT,
      `the Windows service always uses the default data directory (%ProgramData%\\Custodian\\agent); --data-dir ${dataDir} cannot be given to it`,
    );
}

const CRLF = '\r\n';

/** install-service.cmd: registers and starts the service from the folder the script is in. */
export function windowsInstallScript(): string {
  return [
    '@echo off',
    'rem Custodian agent: registers the CustodianAgent service by hand (the MSI does this itself).',
    `rem Put this file beside ${WINDOWS_AGENT_EXE} and ${WINDOWS_SERVICE_HOST} (the MSI's files) and run it`,
    'rem as Administrator (or SYSTEM from an MDM). Enrol first, once, with the secret kept off the command line:',
    `rem   set CUSTODIAN_ENROL_SECRET=...  and  ${WINDOWS_AGENT_EXE} enrol --server https://collector.example`,
    'setlocal',
    `set "HOST=%~dp0${WINDOWS_SERVICE_HOST}"`,
    `if not exist "%HOST%" (echo ${WINDOWS_SERVICE_HOST} not found in %~dp0 & exit /b 2)`,
    `if not exist "%~dp0${WINDOWS_AGENT_EXE}" (echo ${WINDOWS_AGENT_EXE} not found in %~dp0 & exit /b 2)`,
    `sc.exe create ${WINDOWS_SERVICE_NAME} binPath= "\\"%HOST%\\"" start= auto obj= LocalSystem DisplayName= "Custodian Agent"`,
    'if errorlevel 1 exit /b 1',
    `sc.exe description ${WINDOWS_SERVICE_NAME} "${DESCRIPTION}"`,
    `sc.exe failure ${WINDOWS_SERVICE_NAME} reset= 3600 actions= restart/5000/restart/30000/restart/60000`,
    `sc.exe start ${WINDOWS_SERVICE_NAME}`,
    'if errorlevel 1 exit /b 1',
    'exit /b 0',
    '',
  ].join(CRLF);
}

/** The longest an uninstall waits for the collector's ack of the uninstall event. */
export const WINDOWS_UNINSTALL_WAIT_SECONDS = 10;

/**
 * uninstall-service.cmd: stops the service (cleanly: the host closes the agent's stdin and answers
 * the stop once the agent is gone, so its outbox is free), tells the collector the agent is being
 * uninstalled (bounded; never fails the script), and removes the service.
 */
export function windowsUninstallScript(): string {
  return [
    '@echo off',
    'rem Custodian agent: stops and removes the CustodianAgent service registered by install-service.cmd.',
    `sc.exe stop ${WINDOWS_SERVICE_NAME}`,
    `"%~dp0${WINDOWS_AGENT_EXE}" report-uninstall --method ${UNINSTALL_METHOD.script} --user "%USERNAME%" --wait-seconds ${WINDOWS_UNINSTALL_WAIT_SECONDS} <NUL`,
    `sc.exe delete ${WINDOWS_SERVICE_NAME}`,
    'if errorlevel 1 exit /b 1',
    'exit /b 0',
    '',
  ].join(CRLF);
}

export function windowsInstructions(dir: string): string[] {
  return [
    `copy install-service.cmd and uninstall-service.cmd from ${dir} beside ${WINDOWS_AGENT_EXE} and ${WINDOWS_SERVICE_HOST} (the MSI's files; the MSI itself registers the service: msiexec /i custodian-agent-*.msi SERVER=... ENROL_SECRET=... /qn)`,
    `enrol once as Administrator: set CUSTODIAN_ENROL_SECRET=... then ${WINDOWS_AGENT_EXE} enrol --server URL`,
    'run install-service.cmd as Administrator',
  ];
}
