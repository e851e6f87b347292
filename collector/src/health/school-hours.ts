// School hours in the school's time zone, as pure functions of a clock reading: is `now` inside
// them, when did today's start, which local day is it. Health checks count offline minutes only
// inside school hours (a laptop shut at 15:40 is not an incident at 08:00 the next day).

/** When the school is in: days of the week (0 = Sunday) and a local time window. */
export interface SchoolHours {
  /** IANA zone, e.g. Europe/London (British Summer Time handled by Intl). */
  timeZone: string;
  days: number[];
  /** 'HH:MM', local. */
  start: string;
  /** 'HH:MM', local, after start; '24:00' for the end of the day. */
  end: string;
}

export interface LocalTime {
  /** 0 = Sunday. */
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

/** Is this an IANA time zone this Node knows? */
export function isTimeZone(timeZone: string): boolean {
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

/** The wall clock at `now` in `timeZone`. Pure. */
export function localTime(now: number, timeZone: string): LocalTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(now))) parts[p.type] = p.value;
  const seconds = Number(parts['second']);
  return {
    weekday: WEEKDAYS.indexOf(parts['weekday'] ?? ''),
    minutes: Number(parts['hour']) * 60 + Number(parts['minute']),
    msIntoMinute: seconds * 1000 + (((now % 1000) + 1000) % 1000),
    day: `${parts['year']}-${parts['month']}-${parts['day']}`,
  };
}

/** Whether `now` is in school hours, and when today's school hours started (ms). Pure. */
export function schoolClock(now: number, hours: SchoolHours): { inHours: boolean; startedAt: number } {
  const t = localTime(now, hours.timeZone);
  const start = minutesOf(hours.start);
  const end = minutesOf(hours.end);
  const inHours = hours.days.includes(t.weekday) && t.minutes >= start && t.minutes < end;
  return { inHours, startedAt: now - ((t.minutes - start) * 60_000 + t.msIntoMinute) };
}
