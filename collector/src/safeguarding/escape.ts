// Device-sourced text (window titles, URLs, usernames, file names) is attacker-controlled.
// Everything that goes into HTML passes through `text()`; nothing else builds markup from it.

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/**
 * Bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E/F, U+061C) can make a
 * printed title read differently from what the device sent ("gpj.exe" tricks); C0/C1
 * controls other than tab/newline have no business in evidence either. We show them as
 * visible markers so the print-out is faithful without being misleading.
 */
const INVISIBLE =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function neutraliseControls(s: string): string {
  return s.replace(INVISIBLE, (c) => `[U+${c.codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0')}]`);
}

/** Truncates by code points (never splitting a surrogate pair) and says how much was cut. */
export function truncate(s: string, max: number): string {
  const cps = Array.from(s);
  if (cps.length <= max) return s;
  return `${cps.slice(0, max).join('')}… [${cps.length - max} more characters]`;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => HTML_ESCAPES[c] as string);
}

/** Untrusted value → inert HTML text: controls made visible, length bounded, escaped. */
export function text(value: unknown, max = 2000): string {
  const s = value === undefined || value === null ? '' : String(value);
  return escapeHtml(truncate(neutraliseControls(s), max));
}
