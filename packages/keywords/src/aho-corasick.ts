// Aho–Corasick automaton compiled to a full DFA over a small alphabet (the characters that occur
// in the patterns). Scanning is one table lookup per character: linear in the text, independent
// of how many patterns the library holds. Everything is kept in flat typed arrays (no per-state
// objects), so the ~28k-state automaton of the built-in library costs ~2 MiB.

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
}

export function buildAutomaton(patterns: readonly string[]): Automaton {
  // Alphabet: 0 = any character no pattern uses (always leads back to the root).
  const alpha = new Uint16Array(65536);
  let alphaSize = 1;
  for (const p of patterns)
    for (let i = 0; i < p.length; i++) {
      const c = p.charCodeAt(i);
      if (alpha[c] === 0) alpha[c] = alphaSize++;
    }

  // The table is allocated once at its exact size (no doubling while the trie grows: the
  // discarded copies used to cost several MiB of RSS in the agent), with 16-bit entries while
  // the state ids fit (the built-in library: ~28k states), which halves it again.
  const states = countTrieStates(patterns);
  const table: Uint16Array | Uint32Array =
    states <= 0x10000 ? new Uint16Array(states * alphaSize) : new Uint32Array(states * alphaSize);

  // Trie. 0 = no edge: no edge ever leads back to the root.
  let next = 1;
  const patternState = new Int32Array(patterns.length).fill(-1);
  for (let pi = 0; pi < patterns.length; pi++) {
    const p = patterns[pi]!;
    if (p.length === 0) continue;
    let s = 0;
    for (let i = 0; i < p.length; i++) {
      const at = s * alphaSize + alpha[p.charCodeAt(i)]!;
      let t = table[at]!;
      if (t === 0) {
        t = next++;
        table[at] = t;
      }
      s = t;
    }
    patternState[pi] = s;
  }

  // Each state's own patterns, in pattern order (counting sort into one flat array).
  const ownStart = new Int32Array(states + 1);
  for (let pi = 0; pi < patterns.length; pi++) if (patternState[pi]! >= 0) ownStart[patternState[pi]! + 1]!++;
  for (let s = 0; s < states; s++) ownStart[s + 1]! += ownStart[s]!;
  const own = new Int32Array(ownStart[states]!);
  const fillAt = ownStart.slice(0, states);
  for (let pi = 0; pi < patterns.length; pi++) {
    const s = patternState[pi]!;
    if (s >= 0) own[fillAt[s]!++] = pi;
  }

  // BFS: failure links folded into the table. A row is completed when its state is dequeued,
  // so a 0 in it before that still means "no trie edge" (trie children are never the root).
  const fail = new Int32Array(states);
  const queue = new Int32Array(states);
  let tail = 0;
  for (let a = 0; a < alphaSize; a++) {
    const t = table[a]!;
    if (t !== 0) queue[tail++] = t; // fail = root; missing root edges stay 0 = root
  }
  for (let qi = 0; qi < tail; qi++) {
    const s = queue[qi]!;
    const f = fail[s]!;
    const row = s * alphaSize;
    const frow = f * alphaSize;
    for (let a = 0; a < alphaSize; a++) {
      const t = table[row + a]!;
      if (t === 0) table[row + a] = table[frow + a]!;
      else {
        fail[t] = table[frow + a]!;
        queue[tail++] = t;
      }
    }
  }

  // Outputs merged along the failure chain (own patterns first, then the fail state's), flat:
  // outStart[s]..outStart[s+1] in `out`. BFS order fills a fail state before its dependants.
  const outCount = new Int32Array(states);
  for (let qi = 0; qi < tail; qi++) {
    const s = queue[qi]!;
    outCount[s] = ownStart[s + 1]! - ownStart[s]! + outCount[fail[s]!]!;
  }
  const outStart = new Int32Array(states + 1);
  for (let s = 0; s < states; s++) outStart[s + 1] = outStart[s]! + outCount[s]!;
  const out = new Int32Array(outStart[states]!);
  for (let qi = 0; qi < tail; qi++) {
    const s = queue[qi]!;
    let k = outStart[s]!;
    for (let j = ownStart[s]!; j < ownStart[s + 1]!; j++) out[k++] = own[j]!;
    const f = fail[s]!;
    for (let j = outStart[f]!; j < outStart[f + 1]!; j++) out[k++] = out[j]!;
  }
  const patternLength = Int32Array.from(patterns, (p) => p.length);

  const report = (s: number, end: number, onHit: (pattern: number, start: number, end: number) => void) => {
    for (let k = outStart[s]!; k < outStart[s + 1]!; k++) {
      const pi = out[k]!;
      onHit(pi, end - patternLength[pi]!, end);
    }
  };

  return {
    states,
    scanCodes(codes, length, pad, onHit) {
      let s = table[alpha[pad]!]!;
      report(s, 1, onHit);
      for (let i = 0; i < length; i++) {
        s = table[s * alphaSize + alpha[codes[i]!]!]!;
        if (outStart[s] !== outStart[s + 1]) report(s, i + 2, onHit);
      }
      s = table[s * alphaSize + alpha[pad]!]!;
      report(s, length + 2, onHit);
    },
    scan(text, onHit) {
      let s = 0;
      for (let i = 0; i < text.length; i++) {
        s = table[s * alphaSize + alpha[text.charCodeAt(i)]!]!;
        if (outStart[s] !== outStart[s + 1]) report(s, i + 1, onHit);
      }
    },
  };
}

/** Trie size without building it: 1 (root) + each distinct pattern's characters beyond its longest common prefix with the previous one in sorted order. */
function countTrieStates(patterns: readonly string[]): number {
  const sorted = [...new Set(patterns)].sort();
  let states = 1;
  let prev = '';
  for (const p of sorted) {
    let lcp = 0;
    const max = Math.min(p.length, prev.length);
    while (lcp < max && p.charCodeAt(lcp) === prev.charCodeAt(lcp)) lcp++;
    states += p.length - lcp;
    prev = p;
  }
  return states;
}
