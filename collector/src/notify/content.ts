// What a notification says. The content rule (issue 18): identifiers (the alert, its device and, in
// a trust of schools, its school's id), severity, category and a
// link to the console — never the matched term, its context, the window title or URL, the
// pupil's name or an image. Email and third-party chat are not safe channels for those; the DSL
// reads them in the console, signed in and audited. The category comes from the device, so it is
// sent only when it is one of the keyword library's own categories.
import { CATEGORIES } from '@custodian/keywords';
import type { StaffNotification } from '../auth/notifications.ts';
import type { Alert } from '../store/types.ts';
import { DEFAULT_SCHOOL_ID } from '../tenancy/model.ts';
import { schoolOfRecord } from '../tenancy/scope.ts';

/** One message, the same facts for every channel. */
export interface Message {
  subject: string;
  text: string;
  /** The webhook body (JSON). */
  json: Record<string, unknown>;
}

/** The alert fields a message may carry (nothing else of the alert reaches this module's output). */
export interface AlertFacts {
  id: string;
  deviceId: string;
  /** The alert's school in a trust of schools (tenancy); absent for the default school. */
  schoolId?: string;
  severity: number;
  category: string;
  createdAt: number;
}

export function alertFacts(a: Alert): AlertFacts {
  const school = schoolOfRecord(a);
  return {
    id: a.id,
    deviceId: a.deviceId,
    ...(school !== DEFAULT_SCHOOL_ID ? { schoolId: school } : {}),
    severity: a.severity,
    category: (CATEGORIES as readonly string[]).includes(a.category) ? a.category : 'other',
    createdAt: a.createdAt,
  };
}

function base(url: string): string {
  return url.replace(/\/+$/, '');
}

export function alertLink(consoleUrl: string, alertId: string): string {
  return `${base(consoleUrl)}/#/alerts/${encodeURIComponent(alertId)}`;
}

export function alertMessage(a: AlertFacts, consoleUrl: string, step: number): Message {
  const link = alertLink(consoleUrl, a.id);
  const again = step > 0 ? ' (not yet opened: you are the next contact on the rota)' : '';
  return {
    subject: `Custodian: severity ${a.severity} ${a.category} alert needs review${step > 0 ? ' (escalated)' : ''}`,
    text: [
      `An alert of severity ${a.severity} in category ${a.category} needs review${again}.`,
      '',
      `Open it in the console (sign in required): ${link}`,
      '',
      `Alert: ${a.id}`,
      ...(a.schoolId ? [`School: ${a.schoolId}`] : []),
      `Device: ${a.deviceId}`,
      `Opened: ${new Date(a.createdAt).toISOString()}`,
      '',
      'What was flagged is shown only in the console, to safeguarding staff.',
    ].join('\n'),
    json: {
      type: 'alert',
      alertId: a.id,
      deviceId: a.deviceId,
      // A trust's integrations route by school; a one-school deployment's message is as it was.
      ...(a.schoolId ? { schoolId: a.schoolId } : {}),
      severity: a.severity,
      category: a.category,
      createdAt: new Date(a.createdAt).toISOString(),
      step,
      link,
    },
  };
}

/** One line of plain text: control characters (a newline in a subject header) become spaces. */
function oneLine(s: string, max: number): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').slice(0, max);
}

export function staffMessage(n: StaffNotification, consoleUrl: string): Message {
  const link = `${base(consoleUrl)}/#/`;
  const subject = oneLine(n.subject, 400);
  return {
    subject: oneLine(`Custodian (${n.to}): ${subject}`, 200),
    text: [
      subject,
      '',
      `Kind: ${oneLine(n.kind, 100)}`,
      `At: ${new Date(n.at).toISOString()}`,
      '',
      `Console: ${link}`,
    ].join('\n'),
    json: {
      type: 'staff',
      notificationId: n.id,
      role: n.to,
      kind: n.kind,
      subject: n.subject,
      details: n.details,
      at: new Date(n.at).toISOString(),
      link,
    },
  };
}

export function testMessage(consoleUrl: string, by: string): Message {
  return {
    subject: 'Custodian: test notification',
    text: `A test notification sent by ${by} from the Custodian settings page.\n\nConsole: ${base(consoleUrl)}/#/`,
    json: { type: 'test', by, link: `${base(consoleUrl)}/#/` },
  };
}
