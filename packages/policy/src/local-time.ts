// The wall clock in a school's time zone, shared by everything that knows school hours: the BYOD
// scope (agent), device health and the notification rota (collector). One cached Intl formatter
// per zone; British Summer Time is Intl's business.
// The first Intl.DateTimeFormat of a process costs ~8 MiB of RSS (ICU's locale and pattern data,
// Node 24): validating a policy's zone must not build one when no clock is read (a school-owned
// device never reads it), so validTimeZone looks the name up in ICU's list of zones first.

export interface LocalTime {
  /** 0 = Sunday … 6 = Saturday. */
  weekday: number;
  /** Minutes since local midnight. */
  minutes: number;
  /** Milliseconds into the current minute. */
  msIntoMinute: number;
  /** Local date, YYYY-MM-DD. */
  day: string;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

let knownZones: ReadonlySet<string> | undefined;

/** Is this an IANA time zone this runtime knows? */
export function validTimeZone(timeZone: string): boolean {
  if (timeZone === '') return false;
  // Every canonical name is accepted by Intl.DateTimeFormat; aliases ("GB", "US/Eastern"), other
  // spellings and offsets are not listed and take the formatter below, as before.
  knownZones ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (knownZones.has(timeZone)) return true;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** 'HH:MM' → minutes since midnight ('24:00' → 1440). */
export function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** The wall clock at `now` (ms) in `timeZone`. Pure. */
export function localTime(now: number, timeZone: string): LocalTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(now))) parts[p.type] = p.value;
  return {
    weekday: WEEKDAYS.indexOf(parts['weekday'] ?? ''),
    minutes: Number(parts['hour']) * 60 + Number(parts['minute']),
    msIntoMinute: Number(parts['second']) * 1000 + (((now % 1000) + 1000) % 1000),
    day: `${parts['year']}-${parts['month']}-${parts['day']}`,
  };
}
