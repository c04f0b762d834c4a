// Card-number helpers for the checkout form: a Luhn check and brand detection as the user
// types, so a typo is caught before anything is sent. The API checks again; this is only
// for a quicker, friendlier answer. Nothing here stores or logs the number.

const brands = [
  { id: 'amex', name: 'American Express', test: /^3[47]/, lengths: [15], groups: [4, 6, 5] },
  { id: 'visa', name: 'Visa', test: /^4/, lengths: [13, 16, 19], groups: [4, 4, 4, 4, 3] },
  { id: 'mastercard', name: 'Mastercard', test: /^(5[1-5]|222[1-9]|22[3-9]\d|2[3-6]\d\d|27[01]\d|2720)/, lengths: [16], groups: [4, 4, 4, 4] },
  { id: 'discover', name: 'Discover', test: /^(6011|65|64[4-9])/, lengths: [16, 19], groups: [4, 4, 4, 4, 3] },
  { id: 'diners', name: 'Diners Club', test: /^3(0[0-5]|[68])/, lengths: [14, 16, 19], groups: [4, 6, 4] },
  { id: 'jcb', name: 'JCB', test: /^35/, lengths: [16, 19], groups: [4, 4, 4, 4, 3] },
];

/** digits keeps only the digits of what the user typed (spaces and dashes are fine). */
export function digits(value) {
  return String(value || '').replace(/\D/g, '');
}

/** luhn reports whether a digit string passes the Luhn check. */
export function luhn(number) {
  let sum = 0;
  for (let i = 0; i < number.length; i++) {
    let d = number.charCodeAt(number.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return number.length > 0 && sum % 10 === 0;
}

/** brand guesses the card brand from its first digits; null when unknown. */
export function brand(number) {
  return brands.find((b) => b.test.test(number)) || null;
}

/** format groups the digits the way they are printed on the card (4-6-5 for Amex). */
export function format(number) {
  const groups = (brand(number) || { groups: [4, 4, 4, 4, 3] }).groups;
  const out = [];
  let i = 0;
  for (const g of groups) {
    if (i >= number.length) break;
    out.push(number.slice(i, i + g));
    i += g;
  }
  if (i < number.length) out.push(number.slice(i));
  return out.join(' ');
}

/**
 * check describes a card number for the form: ok when it can be sent, and a message to
 * show (as a hint while typing, or as the error on submit).
 */
export function check(value) {
  if (/[^\d\s-]/.test(value || '')) return { ok: false, complete: true, message: 'A card number has only digits.' };
  const n = digits(value);
  const b = brand(n);
  const name = b ? b.name : 'Card';
  if (n.length === 0) return { ok: false, complete: false, message: 'Enter the long number on the front of your card.' };
  if (n.length < 13) return { ok: false, complete: false, brand: b, message: `${name} · ${n.length} digits so far` };
  if (n.length > 19) return { ok: false, complete: true, brand: b, message: 'A card number has at most 19 digits.' };
  if (!luhn(n)) {
    // Still typing (a length this brand never has) or a typo (a full-length number).
    const early = b && !b.lengths.includes(n.length) && n.length < Math.max(...b.lengths);
    return { ok: false, complete: !early, brand: b, message: early ? `${name} · ${n.length} digits so far` : 'This number is not valid: please check the digits.' };
  }
  return { ok: true, complete: true, brand: b, message: `${name} · number looks right` };
}

/** checkExpiry validates an optional MM/YY expiry against today. */
export function checkExpiry(value, now = new Date()) {
  const v = String(value || '').trim();
  if (v === '') return { ok: true };
  const m = /^(\d{1,2})\s*\/\s*(\d{2}|\d{4})$/.exec(v);
  if (!m) return { ok: false, message: 'Use MM/YY, for example 08/29.' };
  const month = Number(m[1]);
  let year = Number(m[2]);
  if (year < 100) year += 2000;
  if (month < 1 || month > 12) return { ok: false, message: 'The month must be 01 to 12.' };
  const thisYear = now.getFullYear();
  const thisMonth = now.getMonth() + 1;
  if (year < thisYear || (year === thisYear && month < thisMonth)) return { ok: false, message: 'This card has expired.' };
  if (year > thisYear + 25) return { ok: false, message: 'That expiry is too far away; please check it.' };
  return { ok: true };
}
