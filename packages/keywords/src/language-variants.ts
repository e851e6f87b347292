// Spelling variants a term or rule anchor is compiled with, for languages that change the start
// of a word by grammar. The variants are added to the automaton (so matching stays one pass);
// observed text is never stripped or rewritten, which would turn other words into terms.

/**
 * Arabic writes "and", "the", "with", "for", "so" as prefixes of the next word (و، ال، ب، ل، ف):
 * "والانتحار", "بالسكين". Each Arabic phrase is also compiled with them in front.
 */
const ARABIC_PROCLITICS = ['ال', 'و', 'وال', 'بال', 'ف', 'ب', 'ل'];

function arabicVariants(phrase: string): string[] {
  if (phrase.startsWith('ال'))
    return [phrase, ...['و', 'ف', 'ب', 'وب'].map((p) => p + phrase), `لل${phrase.slice(2)}`];
  return [phrase, ...ARABIC_PROCLITICS.map((p) => p + phrase), `لل${phrase}`];
}

/**
 * Welsh initial mutations: after many words the first consonant changes ("cuddio" → "guddio",
 * "llun" → "lun", "cyllell" → "gyllell", "chyllell", "nghyllell"). Each Welsh phrase is also
 * compiled with its first word soft-, nasal- and aspirate-mutated.
 */
const WELSH_MUTATIONS: [string, string[]][] = [
  ['ll', ['l']],
  ['rh', ['r']],
  ['p', ['b', 'mh', 'ph']],
  ['t', ['d', 'nh', 'th']],
  ['c', ['g', 'ngh', 'ch']],
  ['b', ['f', 'm']],
  ['d', ['dd', 'n']],
  ['g', ['', 'ng']],
  ['m', ['f']],
];

function welshVariants(phrase: string): string[] {
  const lower = phrase.toLowerCase();
  for (const [from, tos] of WELSH_MUTATIONS)
    if (lower.startsWith(from)) {
      const rest = phrase.slice(from.length);
      // "g" dropped must leave a word of at least 3 letters ("gwair" → "wair", not "g..." → "")
      return [phrase, ...tos.map((t) => t + rest).filter((v) => v.split(' ')[0]!.length >= 3)];
    }
  return [phrase];
}

/** The forms to compile for a phrase of this language (always including the phrase itself). */
export function languageVariants(language: string | undefined, phrase: string): string[] {
  if (language === 'ar') return arabicVariants(phrase);
  if (language === 'cy') return welshVariants(phrase);
  return [phrase];
}
