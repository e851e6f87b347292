// Aho–Corasick automaton compiled to a full DFA over a small alphabet (the characters that occur
// in the patterns). Scanning is one table lookup per character: linear in the text, independent
// of how many patterns the library holds for the states scanning spends its time in (see
// DENSE_DEPTH). Everything is kept in flat typed arrays (no per-state objects).

export interface AcHit {
  /** Pattern index as given to buildAutomaton. */
  pattern: number;
  /** Index in the scanned text of the pattern's first character. */
  start: number;
  /** Index one past the pattern's last character. */
  end: number;
}

export interface Automaton {
  /** Calls onHit for every occurrence of every pattern (overlaps included). */
  scan(text: string, onHit: (pattern: number, start: number, end: number) => void): void;
  /**
   * Scans `pad`, then codes[0..length), then `pad` again (a boundary character on both sides)
   * without building a string. Positions count the leading pad as 0.
   */
  scanCodes(
    codes: Uint16Array,
    length: number,
    pad: number,
    onHit: (pattern: number, start: number, end: number) => void,
  ): void;
  readonly states: number;
  /**
   * The DFA's tables, for a caller that steps it itself while producing the text (the matcher's
   * one-pass normalise-and-scan): one step is
   * `s = s < denseStates && a < denseAlpha ? dense[s * denseAlpha + a] : step(s, a)` with
   * `a = alpha[code]`, and `accepts[s] === 1` says that `report` has something to report.
   */
  readonly tables: AutomatonTables;
}

export interface AutomatonTables {
  /** Alphabet index of each UTF-16 code unit (0: used by no pattern). */
  alpha: Uint16Array;
  dense: Uint16Array | Uint32Array;
  denseStates: number;
  denseAlpha: number;
  accepts: Uint8Array;
  /**
   * The alphabet index of the only character that leads out of the root (state 0), or -1 when
   * there are several. The matcher's patterns all start with a space, so inside a word that has
   * left every pattern the automaton idles in the root until the next space: a caller may skip
   * stepping then (the root reports nothing).
   */
  rootExit: number;
  /** The step from state `s` on alphabet index `a`, for any state (dense or sparse). */
  step(s: number, a: number): number;
  /** Calls onHit for every pattern state `s` reports, ending at `end` (as scanCodes does). */
  report(s: number, end: number, onHit: (pattern: number, start: number, end: number) => void): void;
  /**
   * scanCodes without the reports: writes the (state, end) pair of every position where
   * scanCodes would report into `pairs` (room for 2 × (length + 2) entries); returns how many
   * pairs. `report` replays them.
   */
  scanToPairs(codes: Uint16Array, length: number, pad: number, pairs: Int32Array): number;
}

/**
 * States this close to the root get a full table row (one lookup per character); deeper ones
 * keep only their trie edges and fall back along their failure link. Every pattern the matcher
 * builds starts with a space, so scanning ordinary text stays almost entirely within the first
 * few levels, while the deep levels hold ~90% of the states (the full table for the built-in
 * library would be ~2 MiB; this keeps it at ~0.2 MiB).
 */
const DENSE_DEPTH = 8;
/**
 * ...but the full rows cost states × alphabet, and ten languages' scripts quadrupled the alphabet
 * (36 → ~140 characters). So the dense depth is lowered until the table fits this many entries
 * (2 bytes each): the agent's footprint stays where it was, and text in the other scripts, which
 * is rarer, spends more of its steps on the sparse path.
 */
const DENSE_ENTRIES_BUDGET = 512 * 1024;

export function buildAutomaton(patterns: readonly string[]): Automaton {
  // Alphabet: 0 = any character no pattern uses (always leads back to the root). ASCII characters
  // are numbered first: the dense rows cover only them (indices below denseAlpha), so a row stays
  // ~40 entries however many scripts the patterns use; other scripts' characters take the sparse
  // path (a state's children, then its failure links).
  const alpha = new Uint16Array(65536);
  let alphaSize = 1;
  for (const ascii of [true, false])
    for (const p of patterns)
      for (let i = 0; i < p.length; i++) {
        const c = p.charCodeAt(i);
        if (c < 128 === ascii && alpha[c] === 0) alpha[c] = alphaSize++;
      }
  let denseAlpha = 1;
  for (let c = 0; c < 128; c++) if (alpha[c] !== 0) denseAlpha++;

  // Trie from the patterns in sorted order: each shares its longest common prefix with the
  // previous one, so the trie is laid out without any lookups and every array has its exact size.
  const order = [...patterns.keys()]
    .filter((i) => patterns[i]!.length > 0)
    .sort((x, y) => (patterns[x]! < patterns[y]! ? -1 : patterns[x]! > patterns[y]! ? 1 : x - y));
  let states = 1;
  let maxLength = 0;
  for (let k = 0; k < order.length; k++) {
    const p = patterns[order[k]!]!;
    states += p.length - (k === 0 ? 0 : commonPrefix(p, patterns[order[k - 1]!]!));
    maxLength = Math.max(maxLength, p.length);
  }
  const parent = new Int32Array(states);
  const trieEdge = new Uint16Array(states);
  const depth = new Int32Array(states);
  const patternState = new Int32Array(patterns.length).fill(-1);
  const path = new Int32Array(maxLength + 1);
  let next = 1;
  for (let k = 0; k < order.length; k++) {
    const p = patterns[order[k]!]!;
    const shared = k === 0 ? 0 : commonPrefix(p, patterns[order[k - 1]!]!);
    for (let i = shared; i < p.length; i++) {
      const t = next++;
      parent[t] = path[i]!;
      trieEdge[t] = alpha[p.charCodeAt(i)]!;
      depth[t] = i + 1;
      path[i + 1] = t;
    }
    patternState[order[k]!] = path[p.length]!;
  }

  // Renumber breadth-first (by depth; within a depth in trie order): the dense states are then
  // exactly the ids below denseStates, and the children of every state are one id range,
  // childStart[s]..childStart[s+1], in order of their parents.
  const byDepth = new Int32Array(maxLength + 2);
  for (let t = 0; t < states; t++) byDepth[depth[t]! + 1]!++;
  for (let d = 0; d <= maxLength; d++) byDepth[d + 1]! += byDepth[d]!;
  let denseDepth = Math.min(DENSE_DEPTH, maxLength);
  while (denseDepth > 1 && byDepth[denseDepth + 1]! * denseAlpha > DENSE_ENTRIES_BUDGET) denseDepth--;
  const denseStates = byDepth[denseDepth + 1]!;
  const id = new Int32Array(states);
  for (let t = 0; t < states; t++) id[t] = byDepth[depth[t]!]!++;
  const edge = new Uint16Array(states); // alphabet index of the edge into the state
  const childStart = new Int32Array(states + 1);
  for (let t = 1; t < states; t++) {
    edge[id[t]!] = trieEdge[t]!;
    childStart[id[parent[t]!]! + 1]!++;
  }
  childStart[0] = 1;
  for (let s = 0; s < states; s++) childStart[s + 1]! += childStart[s]!;
  for (let pi = 0; pi < patterns.length; pi++)
    if (patternState[pi]! >= 0) patternState[pi] = id[patternState[pi]!]!;

  const dense: Uint16Array | Uint32Array =
    states <= 0x10000 ? new Uint16Array(denseStates * denseAlpha) : new Uint32Array(denseStates * denseAlpha);
  const fail = new Int32Array(states);

  const deepStep = (from: number, a: number): number => {
    let s = from;
    for (;;) {
      if (s < denseStates && a < denseAlpha) return dense[s * denseAlpha + a]!;
      for (let t = childStart[s]!; t < childStart[s + 1]!; t++) if (edge[t] === a) return t;
      if (s === 0) return 0;
      s = fail[s]!;
    }
  };

  for (let s = 0; s < states; s++) {
    // A state's failure link is shallower, so already known (and dense when this one is).
    for (let t = childStart[s]!; t < childStart[s + 1]!; t++)
      fail[t] = s === 0 ? 0 : deepStep(fail[s]!, edge[t]!);
    if (s >= denseStates) continue;
    const r = s * denseAlpha;
    if (s !== 0) dense.copyWithin(r, fail[s]! * denseAlpha, fail[s]! * denseAlpha + denseAlpha);
    for (let t = childStart[s]!; t < childStart[s + 1]!; t++)
      if (edge[t]! < denseAlpha) dense[r + edge[t]!] = t;
  }

  // Each state's own patterns in pattern order, then everything its failure state reports:
  // outStart[s]..outStart[s+1] in `out`. BFS order fills a failure state before its dependants.
  const outCount = new Int32Array(states);
  for (let pi = 0; pi < patterns.length; pi++) if (patternState[pi]! >= 0) outCount[patternState[pi]!]!++;
  for (let s = 1; s < states; s++) outCount[s]! += outCount[fail[s]!]!;
  const outStart = new Int32Array(states + 1);
  for (let s = 0; s < states; s++) outStart[s + 1] = outStart[s]! + outCount[s]!;
  const out = new Int32Array(outStart[states]!);
  const outFill = outStart.slice(0, states);
  for (let pi = 0; pi < patterns.length; pi++) {
    const s = patternState[pi]!;
    if (s >= 0) out[outFill[s]!++] = pi;
  }
  for (let s = 1; s < states; s++) {
    const f = fail[s]!;
    let k = outFill[s]!;
    for (let j = outStart[f]!; j < outStart[f + 1]!; j++) out[k++] = out[j]!;
  }
  const patternLength = Int32Array.from(patterns, (p) => p.length);
  // One byte per state saying whether it reports anything: one load per character instead of two.
  const accepts = new Uint8Array(states);
  for (let s = 0; s < states; s++) accepts[s] = outStart[s + 1]! > outStart[s]! ? 1 : 0;

  const report = (s: number, end: number, onHit: (pattern: number, start: number, end: number) => void) => {
    for (let k = outStart[s]!; k < outStart[s + 1]!; k++) {
      const pi = out[k]!;
      onHit(pi, end - patternLength[pi]!, end);
    }
  };

  const scanToPairs = (codes: Uint16Array, length: number, pad: number, pairs: Int32Array): number => {
    let n = 0;
    let s = deepStep(0, alpha[pad]!);
    if (accepts[s] === 1) {
      pairs[n++] = s;
      pairs[n++] = 1;
    }
    for (let i = 0; i < length; i++) {
      const a = alpha[codes[i]!]!;
      s = s < denseStates && a < denseAlpha ? dense[s * denseAlpha + a]! : deepStep(s, a);
      if (accepts[s] === 1) {
        pairs[n++] = s;
        pairs[n++] = i + 2;
      }
    }
    s = deepStep(s, alpha[pad]!);
    if (accepts[s] === 1) {
      pairs[n++] = s;
      pairs[n++] = length + 2;
    }
    return n >> 1;
  };

  return {
    states,
    tables: {
      alpha,
      dense,
      denseStates,
      denseAlpha,
      accepts,
      rootExit: childStart[1]! - childStart[0]! === 1 ? edge[childStart[0]!]! : -1,
      step: deepStep,
      report,
      scanToPairs,
    },
    scanCodes(codes, length, pad, onHit) {
      let s = deepStep(0, alpha[pad]!);
      report(s, 1, onHit);
      for (let i = 0; i < length; i++) {
        const a = alpha[codes[i]!]!;
        s = s < denseStates && a < denseAlpha ? dense[s * denseAlpha + a]! : deepStep(s, a);
        if (accepts[s] === 1) report(s, i + 2, onHit);
      }
      s = deepStep(s, alpha[pad]!);
      report(s, length + 2, onHit);
    },
    scan(text, onHit) {
      let s = 0;
      for (let i = 0; i < text.length; i++) {
        const a = alpha[text.charCodeAt(i)]!;
        s = s < denseStates && a < denseAlpha ? dense[s * denseAlpha + a]! : deepStep(s, a);
        if (accepts[s] === 1) report(s, i + 1, onHit);
      }
    },
  };
}

function commonPrefix(a: string, b: string): number {
  const max = Math.min(a.length, b.length);
  let i = 0;
  while (i < max && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}
