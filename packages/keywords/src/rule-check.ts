// Rule checks on anchor hits. The automaton reports where each rule's word groups occur (anchors,
// deduplicated: one pattern per distinct phrase, shared by every rule that uses it); this file
// turns those hits into rule matches. Work is bounded per text: at most MAX_HITS_PER_RULE hits per
// rule and MAX_CHAINS partial chains per group are considered, so a hostile page full of "how to"
// costs a bounded multiple of its hits, never a backtracking search.
import type { RuleEntry } from './rules.ts';

const MAX_HITS_PER_RULE = 64;
const MAX_CHAINS = 16;
/** Rule matches reported per rule per text (the first, non-overlapping). */
const MAX_MATCHES_PER_RULE = 4;
/** Words before a match in which a negation cue or an `unless` phrase makes it harmless. */
export const UNLESS_WINDOW_BEFORE = 4;
/** Words after a match in which an `unless` phrase ("jk", "in minecraft") makes it harmless. */
export const UNLESS_WINDOW_AFTER = 3;

/** Rules packed for matching: only what a match needs (the agent keeps one for its lifetime). */
export interface CompiledRules {
  count: number;
  groupCount: Uint8Array;
  /** Per rule, 5 slots: link kind (0 ordered, 1 near) and gap. */
  linkKind: Uint8Array;
  linkGap: Uint8Array;
  negatable: Uint8Array;
  /** CSR list per anchor: anchorUses[useStart[a]..useStart[a+1]) = rule * 8 + group. */
  useStart: Int32Array;
  anchorUses: Int32Array;
  rules: RuleEntry[];
  /** Scratch per rule: bit g set when group g was hit in the current text. */
  mask: Uint8Array;
}

/** Deduplicates the anchors of `rules`; `anchorPhrases[a]` is the phrase to compile for anchor a. */
export function compileRules(rules: RuleEntry[]): { compiled: CompiledRules; anchorPhrases: string[] } {
  const anchorIds = new Map<string, number>();
  const uses: number[][] = [];
  rules.forEach((r, ri) => {
    r.groups.forEach((alts, gi) => {
      for (const alt of alts) {
        let a = anchorIds.get(alt);
        if (a === undefined) {
          a = anchorIds.size;
          anchorIds.set(alt, a);
          uses.push([]);
        }
        const use = ri * 8 + gi;
        if (!uses[a]!.includes(use)) uses[a]!.push(use);
      }
    });
  });
  const useStart = new Int32Array(uses.length + 1);
  uses.forEach((u, a) => {
    useStart[a + 1] = useStart[a]! + u.length;
  });
  const anchorUses = new Int32Array(useStart[uses.length]!);
  uses.forEach((u, a) => {
    anchorUses.set(u, useStart[a]!);
  });
  const linkKind = new Uint8Array(rules.length * 5);
  const linkGap = new Uint8Array(rules.length * 5);
  rules.forEach((r, ri) => {
    r.links.forEach((l, li) => {
      linkKind[ri * 5 + li] = l.kind === 'near' ? 1 : 0;
      linkGap[ri * 5 + li] = l.gap;
    });
  });
  return {
    compiled: {
      count: rules.length,
      groupCount: Uint8Array.from(rules, (r) => r.groups.length),
      linkKind,
      linkGap,
      negatable: Uint8Array.from(rules, (r) => (r.negatable ? 1 : 0)),
      useStart,
      anchorUses,
      rules,
      mask: new Uint8Array(rules.length),
    },
    anchorPhrases: [...anchorIds.keys()],
  };
}

/** Hits gathered during one scan, in normalised coordinates, plus word numbers. */
export interface RuleHits {
  /**
   * Anchor hits: anchor id, start, end (exclusive). Each list is valid up to its count (the
   * arrays are reused from text to text, never shrunk: no allocation per text).
   */
  anchor: number[];
  anchorCount: number;
  /** Negation cue hits: start positions. */
  neg: number[];
  negCount: number;
  /** `unless` phrase hits: rule, start, end. */
  unless: number[];
  unlessCount: number;
}

export interface RuleMatch {
  rule: number;
  /** Normalised span [s, e). */
  s: number;
  e: number;
}

interface Chain {
  s: number;
  e: number;
  firstWord: number;
  lastWord: number;
  /** Word span of the chain's most recent element (the next link is measured from it). */
  ws: number;
  we: number;
}

/**
 * Word number of each normalised position (count of spaces before it), for positions up to
 * `upTo`. Scratch: valid until the next call.
 */
let wordScratch = new Int32Array(1024);
function wordNumbers(codes: Uint16Array, upTo: number): Int32Array {
  if (wordScratch.length < upTo + 1) wordScratch = new Int32Array(upTo * 2 + 16);
  let w = 0;
  for (let i = 0; i <= upTo; i++) {
    wordScratch[i] = w;
    if (codes[i] === 32) w++;
  }
  return wordScratch;
}

let touchedScratch: Int32Array = new Int32Array(64);
function growInt32(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/**
 * The cheap first pass: which rules had every one of their groups hit (null: none)? Most texts
 * with anchor hits (common words such as "how" or "my") complete no rule and stop here, before
 * the negation and `unless` hits are even gathered (checkRules needs them).
 */
export function completeRules(c: CompiledRules, anchor: readonly number[], count: number): number[] | null {
  const mask = c.mask;
  let complete: number[] | null = null;
  let touched = 0;
  for (let i = 0; i < count; i += 3) {
    const a = anchor[i]!;
    for (let k = c.useStart[a]!; k < c.useStart[a + 1]!; k++) {
      const use = c.anchorUses[k]!;
      const rule = use >> 3;
      const before = mask[rule]!;
      const after = before | (1 << (use & 7));
      if (after === before) continue;
      if (before === 0) {
        if (touched === touchedScratch.length) touchedScratch = growInt32(touchedScratch);
        touchedScratch[touched++] = rule;
      }
      mask[rule] = after;
      if (after === (1 << c.groupCount[rule]!) - 1) {
        complete ??= [];
        complete.push(rule);
      }
    }
  }
  for (let t = 0; t < touched; t++) mask[touchedScratch[t]!] = 0;
  return complete;
}

/**
 * Rule matches in one text, given the scan's hits (all of them: anchors, negation cues, `unless`
 * phrases) and the rules completeRules found complete.
 */
export function checkRules(
  c: CompiledRules,
  complete: readonly number[],
  hits: RuleHits,
  codes: Uint16Array,
  length: number,
): RuleMatch[] {
  const wanted = new Set(complete);

  let maxPos = 0;
  for (let i = 1; i < hits.anchorCount; i += 3) maxPos = Math.max(maxPos, hits.anchor[i + 1]!);
  for (let i = 0; i < hits.negCount; i++) maxPos = Math.max(maxPos, hits.neg[i]!);
  for (let i = 1; i < hits.unlessCount; i += 3) maxPos = Math.max(maxPos, hits.unless[i + 1]!);
  const word = wordNumbers(codes, Math.min(maxPos, length));

  // Hits per complete rule: [group, s, e] triples.
  const perRule = new Map<number, number[]>();
  for (let i = 0; i < hits.anchorCount; i += 3) {
    const a = hits.anchor[i]!;
    for (let k = c.useStart[a]!; k < c.useStart[a + 1]!; k++) {
      const use = c.anchorUses[k]!;
      const rule = use >> 3;
      if (!wanted.has(rule)) continue;
      let list = perRule.get(rule);
      if (!list) {
        list = [];
        perRule.set(rule, list);
      }
      if (list.length < MAX_HITS_PER_RULE * 3) list.push(use & 7, hits.anchor[i + 1]!, hits.anchor[i + 2]!);
    }
  }

  const out: RuleMatch[] = [];
  for (const [rule, list] of perRule) {
    const groups = c.groupCount[rule]!;
    let chains: Chain[] = [];
    for (let i = 0; i < list.length && chains.length < MAX_CHAINS; i += 3)
      if (list[i] === 0) {
        const ws = word[list[i + 1]!]!;
        const we = word[list[i + 2]! - 1]!;
        chains.push({ s: list[i + 1]!, e: list[i + 2]!, firstWord: ws, lastWord: we, ws, we });
      }
    for (let g = 1; g < groups && chains.length > 0; g++) {
      const near = c.linkKind[rule * 5 + g - 1] === 1;
      const gap = c.linkGap[rule * 5 + g - 1]!;
      const next: Chain[] = [];
      for (let i = 0; i < list.length && next.length < MAX_CHAINS; i += 3) {
        if (list[i] !== g) continue;
        const hs = list[i + 1]!;
        const he = list[i + 2]!;
        const ws = word[hs]!;
        const we = word[he - 1]!;
        for (const ch of chains) {
          const after = ws > ch.we && ws - ch.we - 1 <= gap;
          const before = near && we < ch.ws && ch.ws - we - 1 <= gap;
          if (!after && !before) continue;
          next.push({
            s: Math.min(ch.s, hs),
            e: Math.max(ch.e, he),
            firstWord: Math.min(ch.firstWord, ws),
            lastWord: Math.max(ch.lastWord, we),
            ws,
            we,
          });
          break;
        }
      }
      chains = next;
    }
    let reported = 0;
    let reach = -1;
    chains.sort((x, y) => x.s - y.s);
    for (const ch of chains) {
      if (reported >= MAX_MATCHES_PER_RULE) break;
      if (ch.s < reach) continue;
      if (suppressed(c, rule, ch, hits, word)) continue;
      out.push({ rule, s: ch.s, e: ch.e });
      reach = ch.e;
      reported++;
    }
  }
  return out;
}

function suppressed(c: CompiledRules, rule: number, ch: Chain, hits: RuleHits, word: Int32Array): boolean {
  const from = ch.firstWord - UNLESS_WINDOW_BEFORE;
  if (c.negatable[rule] === 1)
    for (let i = 0; i < hits.negCount; i++) {
      const w = word[hits.neg[i]!]!;
      if (w >= from && w <= ch.lastWord) return true;
    }
  for (let i = 0; i < hits.unlessCount; i += 3) {
    if (hits.unless[i] !== rule) continue;
    const w = word[hits.unless[i + 1]!]!;
    if (w >= from && w <= ch.lastWord + UNLESS_WINDOW_AFTER) return true;
  }
  return false;
}
