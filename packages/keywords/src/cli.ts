// custodian-keywords: audit the library from a shell.
//   custodian-keywords match [--age-band B] [--categories a,b] [--custom-terms FILE.json]
//     stdin: one text per line; stdout: one JSON line per input {"matches":[{term,category,severity,start,end}]}
//     (rule matches add rule and description; non-English matches add language)
//   custodian-keywords stats
// Exit codes: 0 ok, 1 bad input (the error names the line), 2 bad usage.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type AgeBand, libraryStats } from './library.ts';
import { type CustomTermInput, createMatcher } from './matcher.ts';

const INVALID_INPUT = 'CUST_ERR_INVALID_INPUT';
const INVALID_CONFIG = 'CUST_ERR_INVALID_CONFIG';
const MAX_LINE_BYTES = 1024 * 1024;

const USAGE = `usage:
  custodian-keywords match [--age-band primary|secondary|staff] [--categories a,b] [--custom-terms FILE.json]
      reads one text per line on stdin, writes one JSON line per input
  custodian-keywords stats
      prints the library's term and rule counts (by category, severity, band, language)`;

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
      .map(({ term, category, severity, start, end, rule, description, language }) => ({
        term,
        category,
        severity,
        start,
        end,
        ...(rule !== undefined ? { rule, description } : {}),
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

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'match') return matchCommand(rest);
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
