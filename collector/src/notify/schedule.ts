// Which time window a moment falls in for the school: school hours, out of hours, or holidays
// (a date outside every listed term). Pure: the clock and the settings come in.
import { localTime, minutesOf } from '@custodian/policy';
import type { NotifySettings, TimeWindow } from './settings.ts';

type Schedule = Pick<NotifySettings, 'timeZone' | 'schoolHours' | 'termDates'>;

export function timeWindowAt(now: number, s: Schedule): Exclude<TimeWindow, 'any'> {
  const { day, weekday, minutes } = localTime(now, s.timeZone);
  if (s.termDates.length > 0 && !s.termDates.some((t) => t.start <= day && day <= t.end)) return 'holidays';
  const h = s.schoolHours;
  // Rota days are ISO weekdays (1 = Monday … 7 = Sunday).
  const isoWeekday = weekday === 0 ? 7 : weekday;
  if (h.days.includes(isoWeekday) && minutesOf(h.start) <= minutes && minutes < minutesOf(h.end))
    return 'school-hours';
  return 'out-of-hours';
}
