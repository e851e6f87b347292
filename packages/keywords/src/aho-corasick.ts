// Aho–Corasick automaton compiled to a full DFA over a small alphabet (the characters that occur
// in the patterns). Scanning is one table lookup per character: linear in the text, independent
// of how many patterns the library holds.

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

  // Trie with growable transition table.
  let cap = 1024;
  let delta = new Int32Array(cap * alphaSize).fill(-1);
  let states = 1;
  const outputs: number[][] = [[]];
  for (let pi = 0; pi < patterns.length; pi++) {
    const p = patterns[pi]!;
    if (p.length === 0) continue;
    let s = 0;
    for (let i = 0; i < p.length; i++) {
      const a = alpha[p.charCodeAt(i)]!;
      let next = delta[s * alphaSize + a]!;
      if (next === -1) {
        if (states === cap) {
          cap *= 2;
          const grown = new Int32Array(cap * alphaSize).fill(-1);
          grown.set(delta);
          delta = grown;
        }
        next = states++;
        outputs.push([]);
        delta[s * alphaSize + a] = next;
      }
      s = next;
    }
    outputs[s]!.push(pi);
  }

  // BFS: failure links folded into the table, outputs merged along the failure chain.
  const fail = new Int32Array(states);
  const queue: number[] = [];
  for (let a = 0; a < alphaSize; a++) {
    const t = delta[a]!;
    if (t === -1) delta[a] = 0;
    else {
      fail[t] = 0;
      queue.push(t);
    }
  }
  for (let qi = 0; qi < queue.length; qi++) {
    const s = queue[qi]!;
    const f = fail[s]!;
    if (outputs[f]!.length > 0) outputs[s] = outputs[s]!.concat(outputs[f]!);
    for (let a = 0; a < alphaSize; a++) {
      const t = delta[s * alphaSize + a]!;
      if (t === -1) delta[s * alphaSize + a] = delta[f * alphaSize + a]!;
      else {
        fail[t] = delta[f * alphaSize + a]!;
        queue.push(t);
      }
    }
  }
  const table = delta.slice(0, states * alphaSize);
  const patternLength = patterns.map((p) => p.length);
  const out: (Int32Array | null)[] = outputs.map((o) => (o.length > 0 ? Int32Array.from(o) : null));

  const step = (s: number, c: number) => table[s * alphaSize + alpha[c]!]!;
  const report = (s: number, end: number, onHit: (pattern: number, start: number, end: number) => void) => {
    const o = out[s];
    if (o === null || o === undefined) return;
    for (let k = 0; k < o.length; k++) {
      const pi = o[k]!;
      onHit(pi, end - patternLength[pi]!, end);
    }
  };

  return {
    states,
    scanCodes(codes, length, pad, onHit) {
      let s = step(0, pad);
      report(s, 1, onHit);
      for (let i = 0; i < length; i++) {
        s = table[s * alphaSize + alpha[codes[i]!]!]!;
        if (out[s] !== null) report(s, i + 2, onHit);
      }
      s = step(s, pad);
      report(s, length + 2, onHit);
    },
    scan(text, onHit) {
      let s = 0;
      for (let i = 0; i < text.length; i++) {
        s = table[s * alphaSize + alpha[text.charCodeAt(i)]!]!;
        const o = out[s];
        if (o !== null && o !== undefined) {
          for (let k = 0; k < o.length; k++) {
            const pi = o[k]!;
            onHit(pi, i + 1 - patternLength[pi]!, i + 1);
          }
        }
      }
    },
  };
}
