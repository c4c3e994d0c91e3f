// pii-redactor: masks e-mail addresses and payment card numbers in text (capabilities "log", "metrics").
//   "mail bob@x.io"                    -> "mail ***"
//   "card 4111 1111 1111 1111 please"  -> "card **** **** **** 1111 please"
// A card number is 13 to 19 digits, optionally grouped by single spaces or dashes, that passes the
// Luhn check; other digit runs (order numbers, dates) are left alone.
import { handle, log, LogLevel, metric } from "../../../../sdk/assemblyscript/assembly";

export { forgeone_abi_version, forgeone_alloc } from "../../../../sdk/assemblyscript/assembly";

export function redact(ptr: i32, len: i32): i64 {
  return handle(ptr, len, (input: string): string => {
    const result = redactText(input);
    metric("pii.emails_masked", <f64>emails);
    metric("pii.cards_masked", <f64>cards);
    if (emails + cards > 0) {
      log(LogLevel.INFO, "masked " + emails.toString() + " e-mail address(es) and " + cards.toString() + " card number(s)");
    }
    return result;
  });
}

let emails = 0;
let cards = 0;

function redactText(s: string): string {
  emails = 0;
  cards = 0;
  const n = s.length;
  let out = "";
  let from = 0; // start of the input not yet copied to out
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c == 0x40) {
      // '@': extend left over the local part and right over the domain.
      let a = i;
      while (a > from && isLocalChar(s.charCodeAt(a - 1))) a--;
      let b = i + 1;
      while (b < n && isDomainChar(s.charCodeAt(b))) b++;
      while (b > i + 1 && (s.charCodeAt(b - 1) == 0x2e || s.charCodeAt(b - 1) == 0x2d)) b--; // trailing "." or "-"
      if (a < i && isMailDomain(s, i + 1, b)) {
        out += s.substring(from, a) + "***";
        emails++;
        from = i = b;
        continue;
      }
    } else if (isDigit(c) && (i == 0 || !isWordChar(s.charCodeAt(i - 1)))) {
      let j = i;
      let end = i;
      let digits = "";
      while (j < n) {
        const d = s.charCodeAt(j);
        if (isDigit(d)) {
          digits += String.fromCharCode(d);
          end = ++j;
        } else if ((d == 0x20 || d == 0x2d) && j + 1 < n && isDigit(s.charCodeAt(j + 1))) {
          j++;
        } else break;
      }
      const count = digits.length;
      if (count >= 13 && count <= 19 && (end == n || !isWordChar(s.charCodeAt(end))) && luhn(digits)) {
        out += s.substring(from, i) + "**** **** **** " + digits.substring(count - 4);
        cards++;
        from = end;
      }
      i = end;
      continue;
    }
    i++;
  }
  return out + s.substring(from);
}

function isDigit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}

function isAlpha(c: i32): bool {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isWordChar(c: i32): bool {
  return isDigit(c) || isAlpha(c) || c == 0x5f;
}

// RFC 5322 "atext" minus the rarely used symbols, plus non-ASCII (internationalised addresses,
// RFC 6531): masking too much is the safe side for a redactor.
function isLocalChar(c: i32): bool {
  return isDomainChar(c) || c == 0x5f || c == 0x25 || c == 0x2b;
}

function isDomainChar(c: i32): bool {
  return isDigit(c) || isAlpha(c) || c == 0x2e || c == 0x2d || (c >= 0x80 && c != 0x2014 && c != 0x2013 && c != 0xa0);
}

/** At least two labels and a final label of two or more letters (x.io, mail.example.com). */
function isMailDomain(s: string, start: i32, end: i32): bool {
  const lastDot = s.lastIndexOf(".", end - 1);
  if (lastDot <= start || lastDot >= end - 2) return false;
  for (let k = lastDot + 1; k < end; k++) if (!isAlpha(s.charCodeAt(k))) return false;
  return s.charCodeAt(start) != 0x2e && s.charCodeAt(start) != 0x2d;
}

function luhn(digits: string): bool {
  let sum = 0;
  let double = false;
  for (let k = digits.length - 1; k >= 0; k--) {
    let d = digits.charCodeAt(k) - 0x30;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 == 0;
}
