// Personal data detectors with real validation: e-mail, phone numbers (libphonenumber), payment cards
// (IIN prefix and Luhn), Chinese resident ID (GB 11643 checksum), IBAN (ISO 13616 mod 97) and US SSN.
// Used by the lexicon engine to judge and by the audit log to redact.
import { findPhoneNumbersInText } from 'libphonenumber-js/min';

/** The kinds of personal data found. */
export type PiiKind = 'email' | 'phone' | 'payment_card' | 'cn_resident_id' | 'iban' | 'us_ssn';

/** One piece of personal data found, and where. */
export interface PiiMatch {
  kind: PiiKind;
  start: number;
  end: number;
}

const digitsOf = (text: string): string => text.replace(/\D/g, '');

/** The Luhn check used by every payment card number. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** Issuer prefixes and lengths of the major card networks. */
const CARD_NETWORKS: ReadonlyArray<{ prefix: RegExp; lengths: readonly number[] }> = [
  { prefix: /^4/, lengths: [13, 16, 19] }, // Visa
  { prefix: /^(5[1-5]|2(2[2-9][1-9]|[3-6]\d\d|7[01]\d|720))/, lengths: [16] }, // Mastercard
  { prefix: /^3[47]/, lengths: [15] }, // American Express
  { prefix: /^(6011|65|64[4-9])/, lengths: [16, 19] }, // Discover
  { prefix: /^62/, lengths: [16, 17, 18, 19] }, // UnionPay
  { prefix: /^35(2[89]|[3-8]\d)/, lengths: [16, 17, 18, 19] }, // JCB
  { prefix: /^3(0[0-5]|[68])/, lengths: [14] }, // Diners Club
];

/** Does this run of digits pass the Luhn check with a card's length? */
export function paymentCardValid(digits: string): boolean {
  return CARD_NETWORKS.some((n) => n.prefix.test(digits) && n.lengths.includes(digits.length)) && luhnValid(digits);
}

const CN_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CN_ID_CHECK = '10X98765432';

/** An 18-character PRC resident identity number: region, a real birth date, and the MOD 11-2 check character. */
export function chineseResidentIdValid(id: string): boolean {
  if (!/^[1-9]\d{16}[\dXx]$/.test(id)) return false;
  const year = Number(id.slice(6, 10));
  const month = Number(id.slice(10, 12));
  const day = Number(id.slice(12, 14));
  const date = new Date(Date.UTC(year, month - 1, day));
  if (year < 1900 || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (id.charCodeAt(i) - 48) * CN_ID_WEIGHTS[i]!;
  return CN_ID_CHECK[sum % 11] === id[17]!.toUpperCase();
}

/** IBAN lengths by country (ISO 13616 registry). */
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MR: 27,
  MT: 31,
  MU: 30,
  NL: 18,
  NO: 15,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  SA: 24,
  SC: 31,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
};

/** An IBAN with the right length for its country and a mod-97 remainder of 1. */
export function ibanValid(raw: string): boolean {
  const iban = raw.replace(/\s/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(iban) || IBAN_LENGTHS[iban.slice(0, 2)] !== iban.length) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const value = ch >= 'A' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const digit of value) remainder = (remainder * 10 + Number(digit)) % 97;
  }
  return remainder === 1;
}

/** A US social security number that the SSA could issue (no 000/666/9xx area, no 00 group, no 0000 serial). */
export function usSsnValid(ssn: string): boolean {
  const m = /^(\d{3})-(\d{2})-(\d{4})$/.exec(ssn);
  return m !== null && m[1] !== '000' && m[1] !== '666' && m[1]![0] !== '9' && m[2] !== '00' && m[3] !== '0000';
}

const CARD_CANDIDATE = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g;
const CN_ID_CANDIDATE = /(?<![\dA-Za-z])[1-9]\d{16}[\dXx](?![\dA-Za-z])/g;
const IBAN_CANDIDATE = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g;
const SSN_CANDIDATE = /(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])/g;
/** Quick pre-check so that texts with few digits never reach the phone parser. */
const MANY_DIGITS = /\d(?:[\s().-]{0,3}\d){6}/;
/** A phone number as written: an optional +, then 7 to 15 digits with at most 3 separators between two. */
const PHONE_SHAPED = /(?<![\d+])\+?\(?\d(?:[\s().-]{0,3}\d){6,14}(?!\d)/g;
const PARSED_PHONE_PIECES = 32;

const isLetter = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
/** [A-Za-z0-9._%+-] */
const isLocalChar = (c: number): boolean =>
  isLetter(c) || isDigit(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
/** [A-Za-z0-9.-] */
const isDomainChar = (c: number): boolean => isLetter(c) || isDigit(c) || c === 46 || c === 45;

/**
 * E-mail addresses, found from each `@` outwards: linear in the text, however it is built (the regular
 * expression this replaces tried every start position of a long run of word characters: quadratic).
 * Local part up to 256 characters (more than the standard's 64: redaction errs on the side of masking), domain labels of letters, digits and hyphens, a top-level domain of two
 * or more letters.
 */
function collectEmails(text: string, out: PiiMatch[]): void {
  let after = 0;
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > after && at - start < 256 && isLocalChar(text.charCodeAt(start - 1))) start--;
    if (start === at) continue;
    let end = at + 1;
    while (end < text.length && end - at <= 255 && isDomainChar(text.charCodeAt(end))) end++;
    const labels = text.slice(at + 1, end).split('.');
    // The top-level domain: the letters that open the last label that has some; what follows them is not part of it.
    while (labels.length > 1 && !isLetter(labels[labels.length - 1]!.charCodeAt(0))) labels.pop();
    if (labels.length < 2 || labels.slice(0, -1).some((l) => l === '')) continue;
    const last = labels[labels.length - 1]!;
    let letters = 0;
    while (letters < last.length && isLetter(last.charCodeAt(letters))) letters++;
    if (letters < 2) continue;
    const length = labels.slice(0, -1).join('.').length + 1 + letters;
    out.push({ kind: 'email', start, end: at + 1 + length });
    after = at + 1 + length;
  }
}

function collect(text: string, pattern: RegExp, kind: PiiKind, valid: (s: string) => boolean, out: PiiMatch[]): void {
  for (const m of text.matchAll(pattern)) {
    if (valid(m[0])) out.push({ kind, start: m.index, end: m.index + m[0].length });
  }
}

const overlaps = (a: PiiMatch, b: PiiMatch): boolean => a.start < b.end && b.start < a.end;

/**
 * Every validated piece of personal data in a text, in order, without overlaps (the more specific kind wins).
 * @example findPii('card 4111 1111 1111 1111') // [{ kind: 'payment_card', start: 5, end: 24 }]
 */
/** Will findPii run the (slow) phone parser on this text? Callers judge such texts off the request thread. */
export const mayHoldPhoneNumbers = (text: string): boolean => MANY_DIGITS.test(text);

/** The personal data in a text (linear time). */
export function findPii(text: string): PiiMatch[] {
  const found: PiiMatch[] = [];
  collectEmails(text, found);
  if (/\d/.test(text)) {
    collect(text, CN_ID_CANDIDATE, 'cn_resident_id', chineseResidentIdValid, found);
    collect(text, CARD_CANDIDATE, 'payment_card', (s) => paymentCardValid(digitsOf(s)), found);
    collect(text, IBAN_CANDIDATE, 'iban', ibanValid, found);
    collect(text, SSN_CANDIDATE, 'us_ssn', usSsnValid, found);
    if (MANY_DIGITS.test(text)) {
      // The phone parser is slow (about half a millisecond a piece): it reads only bounded phone-shaped
      // pieces, and only the first PARSED_PHONE_PIECES of them. Past those, a piece with a phone number's
      // count of digits counts as one without parsing: masking too much is the safe side of redaction.
      let parsed = 0;
      for (const piece of text.matchAll(PHONE_SHAPED)) {
        if (parsed++ < PARSED_PHONE_PIECES) {
          for (const phone of findPhoneNumbersInText(piece[0], { defaultCountry: 'US' })) {
            if (phone.number.isValid())
              found.push({ kind: 'phone', start: piece.index + phone.startsAt, end: piece.index + phone.endsAt });
          }
        } else if (digitsOf(piece[0]).length >= 10) {
          found.push({ kind: 'phone', start: piece.index, end: piece.index + piece[0].length });
        }
      }
      // Mainland mobile numbers written without +86.
      collect(text, /(?<!\d)1[3-9]\d{9}(?!\d)/g, 'phone', () => true, found);
    }
  }
  const kept: PiiMatch[] = [];
  for (const match of found) if (!kept.some((k) => overlaps(k, match))) kept.push(match);
  return kept.sort((a, b) => a.start - b.start);
}

/** Replace each detected piece of personal data with `[KIND]`. */
export function redactPii(text: string, matches: readonly PiiMatch[] = findPii(text)): string {
  let out = '';
  let at = 0;
  for (const m of matches) {
    out += text.slice(at, m.start) + `[${m.kind.toUpperCase()}]`;
    at = m.end;
  }
  return out + text.slice(at);
}
