// The arguments every host launcher passes to the agent's `native-host` command (deploy.ts for
// Linux/macOS, windows-layout.ts for Windows); the browser's own arguments follow them.
export interface HostCommandOptions {
  runDir: string;
  extensionId: string;
  logFile?: string;
}

export function hostCommandArgs(o: HostCommandOptions): string[] {
  return [
    'native-host',
    '--run-dir',
    o.runDir,
    '--extension-id',
    o.extensionId,
    ...(o.logFile ? ['--host-log', o.logFile] : []),
  ];
}
