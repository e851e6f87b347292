// custodian-keywords: audit the library from a shell.
//   custodian-keywords match [--age-band B] [--categories a,b] [--custom-terms FILE.json]
//     stdin: one text per line; stdout: one JSON line per input {"matches":[{term,category,severity,start,end}]}
//     (rule matches: term is the rule's description, plus rule and pattern; non-English matches add language)
//   custodian-keywords stats
// Exit codes: 0 ok, 1 bad input (the error names the line), 2 bad usage.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { ErrorCode } from '@custodian/protocol';
import { type AgeBand, libraryStats } from './library.ts';
import { hashLicensedList, type LicensedTerm, parseLicensedImport } from './licensed.ts';
import { type CustomTermInput, createMatcher } from './matcher.ts';

// Codes from the one catalogue (protocol/src/errors.ts), as every other part reports them.
const { INVALID_INPUT, INVALID_CONFIG } = ErrorCode;
const MAX_LINE_BYTES = 1024 * 1024;

const USAGE = `usage:
  custodian-keywords match [--age-band primary|secondary|staff] [--categories a,b] [--custom-terms FILE.json]
      reads one text per line on stdin, writes one JSON line per input
  custodian-keywords stats
      prints the library's term and rule counts (by category, severity, band, language)
  custodian-keywords import FILE --source NAME --licence TEXT --out LIST.json [--category C] [--severity N] [--by WHO]
      adds a licensed list (one term per line, or term<TAB>category<TAB>severity) to LIST.json,
      with provenance on every term (source, licence, who imported, when). LIST.json stays with the DSL.
  custodian-keywords hash --in LIST.json --key-file KEY --out HASHED.json
      the list as agents receive it: HMAC-SHA256 of each term's normalised token n-gram, no clear text`;

class CliError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(code: string, message: string, exitCode: number) {
    super(message);
    this.code = code;
    this.exitCode = exitCode;
  }
}

function fail(err: CliError): void {
  process.stderr.write(`${JSON.stringify({ error: { code: err.code, message: err.message } })}\n`);
  process.exitCode = err.exitCode;
}

function loadCustomTerms(file: string): CustomTermInput[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(INVALID_CONFIG, `--custom-terms ${file}: ${(err as Error).message}`, 2);
  }
  if (!Array.isArray(parsed))
    throw new CliError(INVALID_CONFIG, `--custom-terms ${file}: expected a JSON array`, 2);
  return parsed as CustomTermInput[];
}

async function matchCommand(args: string[]): Promise<void> {
  let values: { 'age-band'?: string; categories?: string; 'custom-terms'?: string };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        'age-band': { type: 'string', default: 'secondary' },
        categories: { type: 'string' },
        'custom-terms': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new CliError(INVALID_CONFIG, `${(err as Error).message}\n${USAGE}`, 2);
  }
  const ageBand = values['age-band'] as AgeBand;
  let matcher: ReturnType<typeof createMatcher>;
  try {
    matcher = createMatcher({
      ageBand,
      categories: values.categories ? values.categories.split(',').map((c) => c.trim()) : [],
      customTerms: values['custom-terms'] ? loadCustomTerms(values['custom-terms']) : [],
    });
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(INVALID_CONFIG, (err as Error).message, 2);
  }

  const decoder = new TextDecoder('utf-8', { fatal: true });
  let lineNo = 0;
  const handle = (bytes: Buffer): void => {
    lineNo++;
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      throw new CliError(INVALID_INPUT, `line ${lineNo}: not valid UTF-8`, 1);
    }
    if (text.endsWith('\r')) text = text.slice(0, -1);
    // The v1 fields, then (only where they apply) the rule's id and description and the language.
    const matches = matcher
      .match(text)
      .map(({ term, category, severity, start, end, rule, pattern, language }) => ({
        term,
        category,
        severity,
        start,
        end,
        ...(rule !== undefined ? { rule, pattern } : {}),
        ...(language !== undefined ? { language } : {}),
      }));
    process.stdout.write(`${JSON.stringify({ matches })}\n`);
  };

  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let nl = pending.indexOf(0x0a);
    while (nl !== -1) {
      handle(pending.subarray(0, nl));
      pending = pending.subarray(nl + 1);
      nl = pending.indexOf(0x0a);
    }
    if (pending.length > MAX_LINE_BYTES)
      throw new CliError(INVALID_INPUT, `line ${lineNo + 1}: longer than ${MAX_LINE_BYTES} bytes`, 1);
  }
  if (pending.length > 0) handle(pending);
}

function options(
  args: string[],
  spec: Record<string, { type: 'string' }>,
): Record<string, string | undefined> {
  try {
    return parseArgs({ args, options: spec, strict: true, allowPositionals: true }).values as Record<
      string,
      string | undefined
    >;
  } catch (err) {
    throw new CliError(INVALID_CONFIG, `${(err as Error).message}\n${USAGE}`, 2);
  }
}

function importCommand(args: string[]): void {
  const file = args.find((a, i) => !a.startsWith('--') && (i === 0 || !args[i - 1]!.startsWith('--')));
  const v = options(args, {
    source: { type: 'string' },
    licence: { type: 'string' },
    out: { type: 'string' },
    category: { type: 'string' },
    severity: { type: 'string' },
    by: { type: 'string' },
  });
  if (!file || !v.source || !v.licence || !v.out)
    throw new CliError(INVALID_CONFIG, `import needs FILE, --source, --licence and --out\n${USAGE}`, 2);
  let terms: LicensedTerm[];
  try {
    terms = parseLicensedImport(readFileSync(file, 'utf8'), {
      source: v.source,
      licence: v.licence,
      importedBy: v.by ?? userInfo().username,
      importedAt: new Date().toISOString(),
      ...(v.category !== undefined ? { defaultCategory: v.category } : {}),
      ...(v.severity !== undefined ? { defaultSeverity: Number(v.severity) } : {}),
    });
  } catch (err) {
    throw new CliError(INVALID_INPUT, `${file}: ${(err as Error).message}`, 1);
  }
  const existing: LicensedTerm[] = existsSync(v.out) ? JSON.parse(readFileSync(v.out, 'utf8')) : [];
  writeFileSync(v.out, `${JSON.stringify([...existing, ...terms], null, 1)}\n`, { mode: 0o600 });
  process.stdout.write(
    `${JSON.stringify({ imported: terms.length, total: existing.length + terms.length })}\n`,
  );
}

function hashCommand(args: string[]): void {
  const v = options(args, {
    in: { type: 'string' },
    'key-file': { type: 'string' },
    out: { type: 'string' },
  });
  if (!v.in || !v['key-file'] || !v.out)
    throw new CliError(INVALID_CONFIG, `hash needs --in, --key-file and --out\n${USAGE}`, 2);
  const key = readFileSync(v['key-file']);
  let list: ReturnType<typeof hashLicensedList>;
  try {
    list = hashLicensedList(JSON.parse(readFileSync(v.in, 'utf8')) as LicensedTerm[], key);
  } catch (err) {
    throw new CliError(INVALID_CONFIG, (err as Error).message, 2);
  }
  writeFileSync(v.out, `${JSON.stringify(list)}\n`);
  process.stdout.write(`${JSON.stringify({ entries: list.entries.length, lengths: list.lengths })}\n`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'match') return matchCommand(rest);
  if (command === 'import') return importCommand(rest);
  if (command === 'hash') return hashCommand(rest);
  if (command === 'stats') {
    process.stdout.write(`${JSON.stringify(libraryStats(), null, 2)}\n`);
    return;
  }
  if (command === '--help' || command === 'help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  throw new CliError(INVALID_CONFIG, `unknown command ${JSON.stringify(command ?? '')}\n${USAGE}`, 2);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (!(err instanceof CliError)) throw err; // a bug, not bad input: crash with the stack (exit 1)
  fail(err);
});
