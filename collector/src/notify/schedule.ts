// Which time window a moment falls in for the school: school hours, out of hours, or holidays
// (a date outside every listed term). Pure: the clock and the settings come in.
import type { NotifySettings, TimeWindow } from './settings.ts';

type Schedule = Pick<NotifySettings, 'timeZone' | 'schoolHours' | 'termDates'>;

/** Local date (`YYYY-MM-DD`), ISO weekday (1 = Monday) and time (`HH:MM`) in `timeZone`. */
export function localParts(now: number, timeZone: string): { date: string; weekday: number; time: string } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    weekday: 'short',
    hourCycle: 'h23',
  }).formatToParts(now);
  const get = (t: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === t)?.value ?? '';
  const weekday = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(get('weekday')) + 1;
  return {
    date: `${get('year')}-${get('month')}-${get('day')}`,
    weekday,
    time: `${get('hour')}:${get('minute')}`,
  };
}

export function timeWindowAt(now: number, s: Schedule): Exclude<TimeWindow, 'any'> {
  const { date, weekday, time } = localParts(now, s.timeZone);
  if (s.termDates.length > 0 && !s.termDates.some((t) => t.start <= date && date <= t.end)) return 'holidays';
  const h = s.schoolHours;
  if (h.days.includes(weekday) && h.start <= time && time < h.end) return 'school-hours';
  return 'out-of-hours';
}

/** Is `timeZone` one this runtime knows (checked when settings are saved)? */
export function validTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone });
    return true;
  } catch {
    return false;
  }
}
