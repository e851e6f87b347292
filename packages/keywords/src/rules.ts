// Phrase and proximity rules: intent that no single term carries ("which pills would work",
// "50 robux for a pic"). A rule is a chain of word groups joined by gap operators; each group's
// alternatives are anchors in the matcher's one Aho–Corasick automaton, and the chain is checked
// on the anchor hits afterwards (see rule-check.ts). No rule ever becomes a regular expression.
//
// File format (data/rules/<category>.tsv, data/languages/<code>/rules/<category>.tsv), tab-separated:
//   id, pattern, severity (1-5), bands (p/s/t, default pst), educational (lower|keep),
//   unless (|-separated phrases; @neg = the negation cues), description, notes
// Pattern: groups separated by operators. A group is alternatives separated by `|`, each a word
// or phrase (a trailing `*` makes a stem). Operators, with spaces around them:
//   `..N`  the next group follows within N words (0 = directly after)
//   `~N`   the next group is within N words of the previous one, in either order
// e.g. `how many|how much ~3 pills|tablets|paracetamol ..4 kill|die|overdose|od`
import { type AgeBand, BAND_LETTERS, dataLines, LibraryFormatError } from './library.ts';

export const MAX_RULE_GROUPS = 6;
export const MAX_RULE_GAP = 12;

export interface RuleLink {
  /** `ordered`: the group follows the previous one; `near`: either side of it. */
  kind: 'ordered' | 'near';
  /** Most words allowed between the two. */
  gap: number;
}

export interface RuleEntry {
  id: string;
  /** The pattern as written (reported as the match's `term`). */
  pattern: string;
  /** groups[i] = its alternatives (phrases, `*` stems allowed). */
  groups: string[][];
  /** links[i] joins groups[i] and groups[i + 1]. */
  links: RuleLink[];
  category: string;
  severity: number;
  bands: AgeBand[];
  educational: 'lower' | 'keep';
  /** Phrases that, within a few words before the match or inside it, make it harmless. */
  unless: string[];
  /** `@neg` in unless: a negation cue ("not", "never", "nie", "nid") just before it makes it harmless. */
  negatable: boolean;
  /** What the rule means, for the DSL (shown where a term would be). */
  description: string;
  notes: string;
  source: string;
  language: string;
}

const OPERATOR = /^(\.\.|~)(\d+)$/;

/** Splits a pattern into groups and links; throws on anything malformed. */
export function parsePattern(pattern: string, where: string): { groups: string[][]; links: RuleLink[] } {
  const groups: string[][] = [];
  const links: RuleLink[] = [];
  let words: string[] = [];
  const closeGroup = () => {
    const alts = words
      .join(' ')
      .split('|')
      .map((a) => a.trim());
    if (words.length === 0 || alts.some((a) => a === '' || a === '*'))
      throw new LibraryFormatError(`${where}: empty alternative in pattern "${pattern}"`);
    groups.push(alts);
    words = [];
  };
  for (const token of pattern.trim().split(/\s+/)) {
    const op = OPERATOR.exec(token);
    if (!op) {
      words.push(token);
      continue;
    }
    closeGroup();
    const gap = Number(op[2]);
    if (gap > MAX_RULE_GAP)
      throw new LibraryFormatError(`${where}: gap ${gap} is over ${MAX_RULE_GAP} words in "${pattern}"`);
    links.push({ kind: op[1] === '~' ? 'near' : 'ordered', gap });
  }
  closeGroup();
  if (groups.length < 2)
    throw new LibraryFormatError(
      `${where}: a rule needs at least two groups (use a term for one) in "${pattern}"`,
    );
  if (groups.length > MAX_RULE_GROUPS)
    throw new LibraryFormatError(`${where}: at most ${MAX_RULE_GROUPS} groups in "${pattern}"`);
  return { groups, links };
}

export function parseRuleFile(text: string, category: string, file: string, language = 'en'): RuleEntry[] {
  const rules: RuleEntry[] = [];
  for (const { cols, line } of dataLines(text, 'id')) {
    const where = `${file}:${line}`;
    const [id = '', pattern = '', sev = '', bands = '', edu = '', unless = '', description = '', notes = ''] =
      cols;
    if (!/^[a-z0-9][a-z0-9-]*$/.test(id))
      throw new LibraryFormatError(`${where}: id must be lowercase letters, digits and - (got "${id}")`);
    const { groups, links } = parsePattern(pattern, where);
    const severity = Number(sev);
    if (!Number.isInteger(severity) || severity < 1 || severity > 5)
      throw new LibraryFormatError(`${where}: severity must be 1-5 (got "${sev}")`);
    const bandList = bands.trim() === '' ? 'pst' : bands.trim();
    if (!/^[pst]+$/.test(bandList))
      throw new LibraryFormatError(`${where}: bands must be letters p, s, t (got "${bands}")`);
    const eduValue = edu.trim() === '' ? 'lower' : edu.trim();
    if (eduValue !== 'lower' && eduValue !== 'keep')
      throw new LibraryFormatError(`${where}: educational must be lower or keep (got "${edu}")`);
    if (description.trim() === '') throw new LibraryFormatError(`${where}: a rule needs a description`);
    const unlessList = unless
      .split('|')
      .map((u) => u.trim())
      .filter((u) => u !== '' && u !== '-');
    rules.push({
      id,
      pattern: pattern.trim(),
      groups,
      links,
      category,
      severity,
      bands: [...new Set(bandList)].map((l) => BAND_LETTERS[l]!),
      educational: eduValue,
      unless: unlessList.filter((u) => u !== '@neg'),
      negatable: unlessList.includes('@neg'),
      description: description.trim(),
      notes: notes.trim(),
      source: where,
      language,
    });
  }
  return rules;
}
