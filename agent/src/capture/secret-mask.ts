// Tokens that look like secrets (passwords, keys, codes) never leave the device, not even inside a
// match's context: long, no spaces, mixed character classes. Applied to typed and on-screen text
// before matching, keeping every offset, so the context is cut from already-masked text and no
// part of a secret survives at the cut.

/** Filler for a masked character (private use; stripped from the input first). */
const FILL = '\ue000';
export const MASK = '[masked]';

/** True for a token that looks like a secret (pure). */
export function looksSecret(token: string): boolean {
  if (token.length < 8) return false;
  const classes =
    Number(/[a-z]/.test(token)) +
    Number(/[A-Z]/.test(token)) +
    Number(/[0-9]/.test(token)) +
    Number(/[^A-Za-z0-9]/.test(token));
  // Words with a capital and punctuation ("Hello,") are two classes; passwords are usually three.
  return classes >= 3 || (token.length >= 16 && classes >= 2 && /[0-9]/.test(token));
}

/** The text with every secret-looking token replaced by filler of the same length (pure). */
export function maskSecretsInPlace(text: string): string {
  return text
    .replaceAll(FILL, ' ')
    .replace(/\S+/g, (t) => (looksSecret(trimPunct(t)) ? FILL.repeat(t.length) : t));
}

/** Turns filler runs (from maskSecretsInPlace) into a visible marker (pure). */
export function showMasks(text: string): string {
  return text.replace(/\ue000+/g, MASK);
}

/** Sentence punctuation around a word is not part of it ("Hunter2!," still a password). */
function trimPunct(t: string): string {
  return t.replace(/^[("'[]+|[)"'\].,;:!?]+$/g, '');
}
