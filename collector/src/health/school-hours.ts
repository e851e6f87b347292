// School hours in the school's time zone, as pure functions of a clock reading: is `now` inside
// them, when did today's start, which local day is it. Health checks count offline minutes only
// inside school hours (a laptop shut at 15:40 is not an incident at 08:00 the next day). The
// wall clock itself is @custodian/policy's localTime, shared with the BYOD scope and the rota.
import { localTime, minutesOf } from '@custodian/policy';

export { localTime, minutesOf } from '@custodian/policy';

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

/** Whether `now` is in school hours, and when today's school hours started (ms). Pure. */
export function schoolClock(now: number, hours: SchoolHours): { inHours: boolean; startedAt: number } {
  const t = localTime(now, hours.timeZone);
  const start = minutesOf(hours.start);
  const end = minutesOf(hours.end);
  const inHours = hours.days.includes(t.weekday) && t.minutes >= start && t.minutes < end;
  return { inHours, startedAt: now - ((t.minutes - start) * 60_000 + t.msIntoMinute) };
}
