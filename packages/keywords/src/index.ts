export { type Automaton, buildAutomaton } from './aho-corasick.ts';
export { type BulkMatcher, type BulkMatcherOptions, createBulkMatcher } from './bulk-matcher.ts';
export {
  type AgeBand,
  CATEGORIES,
  type Category,
  type ContextCue,
  DATA_DIR,
  LANGUAGES,
  type Language,
  type Library,
  LibraryFormatError,
  type LibraryStats,
  libraryStats,
  loadLibrary,
  parseCueFile,
  parseTermFile,
  type TermEntry,
} from './library.ts';
export {
  createHashedMatcher,
  type HashedList,
  type HashedMatcher,
  hashLicensedList,
  type ImportOptions,
  type LicensedTerm,
  parseLicensedImport,
} from './licensed.ts';
export {
  type CustomTermInput,
  createMatcher,
  EDUCATIONAL_SEVERITY_DROP,
  type KeywordMatch,
  type Matcher,
  type MatcherOptions,
} from './matcher.ts';
export { type Normalised, normalise } from './normalise.ts';
export {
  MAX_RULE_GAP,
  MAX_RULE_GROUPS,
  parsePattern,
  parseRuleFile,
  type RuleEntry,
  type RuleLink,
} from './rules.ts';
export { extractSearchQuery, SEARCH_PARAMS, type SearchQuery } from './search-query.ts';
