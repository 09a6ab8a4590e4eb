// The rule set's version: bump it with every change to the rules so caches and audits can tell them apart.
/** The rule set's version. */
export const LEXICON_VERSION = '1.4.0';
