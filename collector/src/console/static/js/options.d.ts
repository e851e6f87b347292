// The shape of /console/js/options.js, which the collector generates from its own constants
// (collector/src/console/options.ts). Values are not repeated here: only their shape.
export const OPTIONS: Readonly<{
  alertStatuses: readonly string[];
  alertSources: readonly string[];
  incidentStatuses: readonly string[];
  referralAgencies: readonly string[];
  outcomes: readonly string[];
  personRoles: readonly string[];
  usbModes: readonly string[];
  ageBands: readonly string[];
  categories: readonly string[];
  commandKinds: readonly string[];
  roles: readonly string[];
  healthKinds: readonly string[];
  healthStates: readonly string[];
  bulkActions: readonly string[];
  smtpSecurity: readonly string[];
  timeWindows: readonly string[];
  rotaStopOn: readonly string[];
  webhookEvents: readonly string[];
  subjectKinds: readonly string[];
  ssoPresets: readonly string[];
  ssoRoles: readonly string[];
  localLoginRoles: readonly string[];
  errorCodes: Readonly<Record<string, string>> & {
    UNAVAILABLE: string;
    INTERNAL: string;
    BAD_RESPONSE: string;
  };
}>;
