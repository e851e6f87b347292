// Compares the keyword library at a git commit with the working tree, with the same matcher code in
// one process: entries, compile time, throughput, and which corpus texts flag differently. For
// reviewing a library change (issue 16 item 3); the matcher's own speed is `pnpm bench keywords`.
//
//   pnpm exec node packages/keywords/test/compare-libraries.ts [COMMIT]   (default: HEAD)
//
// Workload: every corpus line (1 in 10) between lines of the repository's own Markdown docs (plain
// technical English, outside packages/keywords), about 3 MB; CPU time, median of 5, interleaved.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createMatcher,
  LANGUAGES,
  type Library,
  loadLibrary,
  type Matcher,
  parseCueFile,
  parseRuleFile,
  parseTermFile,
  type RuleEntry,
  type TermEntry,
} from '../src/index.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CORPUS = join(import.meta.dirname, 'corpus');

function libraryAt(commit: string): Library {
  const dir = mkdtempSync(join(tmpdir(), 'keywords-at-'));
  try {
    const tar = execFileSync('git', ['-C', ROOT, 'archive', commit, 'packages/keywords/data'], {
      maxBuffer: 64 * 1024 * 1024,
    });
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
    return parseDataDir(join(dir, 'packages', 'keywords', 'data'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function parseDataDir(data: string): Library {
  const terms: TermEntry[] = [];
  const rules: RuleEntry[] = [];
  const folders = [{ dir: '', language: 'en' }];
  for (const code of Object.keys(LANGUAGES))
    if (code !== 'en' && existsSync(join(data, 'languages', code)))
      folders.push({ dir: `languages/${code}/`, language: code });
  for (const { dir, language } of folders)
    for (const kind of ['terms', 'rules'] as const) {
      const at = join(data, dir, kind);
      if (!existsSync(at)) continue;
      for (const f of readdirSync(at).filter((x) => x.endsWith('.tsv'))) {
        const text = readFileSync(join(at, f), 'utf8');
        const category = f.replace(/\.tsv$/, '');
        if (kind === 'terms') terms.push(...parseTermFile(text, category, `${dir}${kind}/${f}`, language));
        else rules.push(...parseRuleFile(text, category, `${dir}${kind}/${f}`, language));
      }
    }
  const cues = (f: string) => parseCueFile(readFileSync(join(data, 'context', f), 'utf8'), f);
  return {
    terms,
    rules,
    negations: cues('negation.tsv'),
    educationalCues: cues('educational.tsv'),
    allow: cues('allow.tsv'),
  };
}

function firstColumn(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.split('\t')[0] ?? '')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .slice(1);
}

function workload(): { texts: string[]; corpus: string[]; bytes: number } {
  const corpus = readdirSync(CORPUS)
    .filter((f) => f.endsWith('.tsv'))
    .flatMap((f) => firstColumn(join(CORPUS, f)));
  for (const f of readdirSync(join(CORPUS, 'languages')))
    corpus.push(...firstColumn(join(CORPUS, 'languages', f)));
  const docs = execFileSync('git', ['-C', ROOT, 'ls-files', '*.md'], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => f !== '' && !f.startsWith('packages/keywords/'))
    .flatMap((f) => readFileSync(join(ROOT, f), 'utf8').split('\n'))
    .filter((l) => l.trim().length > 15);
  const texts: string[] = [];
  let bytes = 0;
  for (let i = 0; bytes < 3 * 1024 * 1024; i++) {
    const t = i % 10 === 0 ? corpus[i % corpus.length]! : docs[(i * 7) % docs.length]!;
    texts.push(t);
    bytes += Buffer.byteLength(t);
  }
  return { texts, corpus, bytes };
}

function cpuSeconds(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

const commit = process.argv[2] ?? 'HEAD';
const before = libraryAt(commit);
const after = loadLibrary();
const { texts, corpus, bytes } = workload();
const mb = bytes / (1024 * 1024);
const compile = (lib: Library) => {
  let m: Matcher | undefined;
  const s = cpuSeconds(() => {
    m = createMatcher({ ageBand: 'secondary', library: lib });
  });
  return { matcher: m!, ms: s * 1000 };
};
const a = compile(before);
const b = compile(after);
const pass = (m: Matcher) =>
  cpuSeconds(() => {
    for (const t of texts) m.match(t);
  });
pass(a.matcher);
pass(b.matcher);
const ra: number[] = [];
const rb: number[] = [];
for (let k = 0; k < 5; k++) {
  ra.push(mb / pass(a.matcher));
  rb.push(mb / pass(b.matcher));
}
const median = (x: number[]) => [...x].sort((p, q) => p - q)[2]!;
const changed = corpus.filter(
  (t) =>
    JSON.stringify(a.matcher.match(t).map((m) => m.category)) !==
    JSON.stringify(b.matcher.match(t).map((m) => m.category)),
);
console.log(
  JSON.stringify(
    {
      commit,
      workload: { megabytes: Number(mb.toFixed(2)), texts: texts.length },
      before: {
        entries: before.terms.length + (before.rules?.length ?? 0),
        compileMs: Math.round(a.ms),
        megabytesPerSecond: Number(median(ra).toFixed(1)),
      },
      after: {
        entries: after.terms.length + (after.rules?.length ?? 0),
        compileMs: Math.round(b.ms),
        megabytesPerSecond: Number(median(rb).toFixed(1)),
      },
      ratio: Number((median(rb) / median(ra)).toFixed(3)),
      corpusTextsFlaggingDifferently: changed.length,
    },
    null,
    2,
  ),
);
