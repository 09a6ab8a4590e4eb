import { describe, expect, it } from 'vitest';
import {
  chineseResidentIdValid,
  findPii,
  ibanValid,
  luhnValid,
  paymentCardValid,
  redactPii,
  usSsnValid,
} from '../../../src/moderation/pii.js';

describe('PII validators', () => {
  it('payment cards need a network prefix, a network length and the Luhn check', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(paymentCardValid('4111111111111111')).toBe(true); // Visa test card
    expect(paymentCardValid('5555555555554444')).toBe(true); // Mastercard test card
    expect(paymentCardValid('378282246310005')).toBe(true); // Amex test card
    expect(paymentCardValid('6200000000000005')).toBe(true); // UnionPay test card
    expect(paymentCardValid('1234567812345670')).toBe(false); // Luhn-valid, no network
  });

  it('a Chinese resident ID needs a real birth date and the MOD 11-2 check character', () => {
    expect(chineseResidentIdValid('11010519491231002X')).toBe(true);
    expect(chineseResidentIdValid('110105194912310021')).toBe(false); // wrong check character
    expect(chineseResidentIdValid('11010519491331002X')).toBe(false); // month 13
  });

  it('an IBAN needs its country length and mod 97 = 1', () => {
    expect(ibanValid('GB82 WEST 1234 5698 7654 32')).toBe(true);
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('GB82WEST12345698765433')).toBe(false);
    expect(ibanValid('DE8937040044053201300')).toBe(false);
  });

  it('a US SSN cannot use area 000, 666 or 9xx', () => {
    expect(usSsnValid('123-45-6789')).toBe(true);
    expect(usSsnValid('666-45-6789')).toBe(false);
    expect(usSsnValid('912-45-6789')).toBe(false);
  });
});

describe('findPii and redactPii', () => {
  it('finds each kind in running text, in order, and masks it', () => {
    const text =
      'Mail bob@example.com, card 4111 1111 1111 1111, call +44 20 7946 0958, ID 11010519491231002X, IBAN DE89370400440532013000, SSN 123-45-6789.';
    expect(findPii(text).map((m) => m.kind)).toEqual([
      'email',
      'payment_card',
      'phone',
      'cn_resident_id',
      'iban',
      'us_ssn',
    ]);
    expect(redactPii(text)).toBe(
      'Mail [EMAIL], card [PAYMENT_CARD], call [PHONE], ID [CN_RESIDENT_ID], IBAN [IBAN], SSN [US_SSN].',
    );
  });

  it('finds mainland mobile numbers written without the country code', () => {
    expect(findPii('我的手机号是13812345678')).toEqual([{ kind: 'phone', start: 6, end: 17 }]);
  });

  it('leaves ordinary numbers alone', () => {
    expect(findPii('Order 1234567812345670 shipped in 2024; version 4.1.12; 3 items')).toEqual([]);
  });
});
