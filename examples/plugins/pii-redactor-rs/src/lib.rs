//! pii-redactor in Rust: masks e-mail addresses and payment card numbers in text (capabilities
//! "log", "metrics"), held to the same manifest test vectors as the AssemblyScript pii-redactor.
//!   "mail bob@x.io"                    -> "mail ***"
//!   "card 4111 1111 1111 1111 please"  -> "card **** **** **** 1111 please"
//! A card number is 13 to 19 digits, optionally grouped by single spaces or dashes, that passes the
//! Luhn check; other digit runs (order numbers, dates) are left alone.

forgeone::handlers!(redact);

fn redact(input: &str) -> forgeone::Result<String> {
    let text: Vec<char> = input.chars().collect();
    let redacted = redact_text(&text);
    forgeone::metric("pii.emails_masked", redacted.emails as f64);
    forgeone::metric("pii.cards_masked", redacted.cards as f64);
    if redacted.emails + redacted.cards > 0 {
        forgeone::log::info(&format!("masked {} e-mail address(es) and {} card number(s)", redacted.emails, redacted.cards));
    }
    Ok(redacted.text)
}

struct Redacted {
    text: String,
    emails: u32,
    cards: u32,
}

fn redact_text(s: &[char]) -> Redacted {
    let n = s.len();
    let mut out = Redacted { text: String::with_capacity(n), emails: 0, cards: 0 };
    let mut from = 0; // start of the input not yet copied to out
    let mut i = 0;
    while i < n {
        let c = s[i];
        if c == '@' {
            // Extend left over the local part and right over the domain.
            let mut a = i;
            while a > from && is_local_char(s[a - 1]) {
                a -= 1;
            }
            let mut b = i + 1;
            while b < n && is_domain_char(s[b]) {
                b += 1;
            }
            while b > i + 1 && (s[b - 1] == '.' || s[b - 1] == '-') {
                b -= 1; // a trailing "." or "-" ends the sentence, not the address
            }
            if a < i && is_mail_domain(s, i + 1, b) {
                out.text.extend(&s[from..a]);
                out.text.push_str("***");
                out.emails += 1;
                from = b;
                i = b;
                continue;
            }
        } else if c.is_ascii_digit() && (i == 0 || !is_word_char(s[i - 1])) {
            let mut j = i;
            let mut end = i;
            let mut digits = String::new();
            while j < n {
                let d = s[j];
                if d.is_ascii_digit() {
                    digits.push(d);
                    j += 1;
                    end = j;
                } else if (d == ' ' || d == '-') && j + 1 < n && s[j + 1].is_ascii_digit() {
                    j += 1;
                } else {
                    break;
                }
            }
            let count = digits.len();
            if (13..=19).contains(&count) && (end == n || !is_word_char(s[end])) && luhn(&digits) {
                out.text.extend(&s[from..i]);
                out.text.push_str("**** **** **** ");
                out.text.push_str(&digits[count - 4..]);
                out.cards += 1;
                from = end;
            }
            i = end;
            continue;
        }
        i += 1;
    }
    out.text.extend(&s[from..]);
    out
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

// RFC 5322 "atext" minus the rarely used symbols, plus non-ASCII (internationalised addresses,
// RFC 6531): masking too much is the safe side for a redactor.
fn is_local_char(c: char) -> bool {
    is_domain_char(c) || c == '_' || c == '%' || c == '+'
}

fn is_domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '-' || (c as u32 >= 0x80 && c != '\u{2014}' && c != '\u{2013}' && c != '\u{a0}')
}

/// At least two labels and a final label of two or more letters (x.io, mail.example.com).
fn is_mail_domain(s: &[char], start: usize, end: usize) -> bool {
    let last_dot = match s[..end].iter().rposition(|&c| c == '.') {
        Some(at) => at,
        None => return false,
    };
    if last_dot <= start || last_dot + 2 >= end {
        return false;
    }
    s[last_dot + 1..end].iter().all(char::is_ascii_alphabetic) && s[start] != '.' && s[start] != '-'
}

fn luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (k, byte) in digits.bytes().rev().enumerate() {
        let mut d = (byte - b'0') as u32;
        if k % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}
