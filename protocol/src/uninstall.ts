// How an agent was uninstalled (AgentUninstalled.method, issue 17): the installers' own words. The
// collector repeats only these in health items and notifications; anything else is device text.
export const UNINSTALL_METHOD = {
  deb: 'dpkg remove',
  msi: 'msi uninstall',
  script: 'uninstall-service.cmd',
} as const;

export const UNINSTALL_METHODS: readonly string[] = Object.values(UNINSTALL_METHOD);
