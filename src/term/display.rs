//! Erlang-syntax printing of terms, in the style of `io:format("~p")` on one line.
//!
//! Printing follows `~p` for everything Erlang can write back as a literal: atoms are
//! quoted when needed (`'hello world'`, `'Foo'`, `'and'`), lists of printable Latin-1
//! integers print as `"text"`, binaries as `<<"text">>` (or `<<"tèxt"/utf8>>` for
//! printable non-ASCII UTF-8) else `<<1,2,3>>`, bitstrings as `<<1,2:3>>`, maps as
//! `#{k => v}`, improper lists as `[a|b]` and floats in Erlang's shortest round-trip
//! form (`1.0`, `0.1`, `1.0e20`, `1.0e-5`: the shorter of fixed and scientific
//! notation, fixed on a tie).
//!
//! Pids, ports, references and funs have no literal syntax, and `~p` prints remote pids
//! as `<N.ID.SERIAL>`, which loses the node. beamnode prints them with the node name
//! and creation so the text is unambiguous and can be parsed back:
//! * pid: `#Pid<'node@host'.ID.SERIAL.CREATION>`
//! * port: `#Port<'node@host'.ID.CREATION>`
//! * reference: `#Ref<'node@host'.CREATION.W0.W1.W2>` (id words in wire order)
//! * export fun: `fun m:f/2` (Erlang syntax)
//! * closure: `#Fun<'module'.INDEX.OLD_UNIQ>` (as `~p` does; the environment is not
//!   shown, so this one is not re-parsable).
//!
//! Native records (OTP 29) print as `~p` prints them: `#m:r{a = 1,b = 2}` (module and
//! name as atoms, fields in wire order). The exported flag is not shown.
//!
//! Printing is depth-limited: containers nested deeper than [`MAX_DEPTH`] print as
//! `...`, so logging a hostile, deeply nested term cannot overflow the stack.

use super::{Atom, BitBinary, Pid, Port, Reference, Term};
use std::fmt::{self, Write};

/// Containers nested deeper than this print as `...`.
pub const MAX_DEPTH: usize = 100;

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_term(self, f, 0)
    }
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_atom(self.as_str(), f)
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("#Pid<")?;
        write_quoted_atom(self.node.as_str(), f)?;
        write!(f, ".{}.{}.{}>", self.id, self.serial, self.creation)
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("#Port<")?;
        write_quoted_atom(self.node.as_str(), f)?;
        write!(f, ".{}.{}>", self.id, self.creation)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("#Ref<")?;
        write_quoted_atom(self.node.as_str(), f)?;
        write!(f, ".{}", self.creation)?;
        for w in &self.ids {
            write!(f, ".{w}")?;
        }
        f.write_char('>')
    }
}

const RESERVED: &[&str] = &[
    "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor", "case",
    "catch", "cond", "div", "else", "end", "fun", "if", "let", "maybe", "not", "of", "or",
    "orelse", "receive", "rem", "try", "when", "xor",
];

fn is_latin1_lower(c: char) -> bool {
    c.is_ascii_lowercase() || (('\u{df}'..='\u{ff}').contains(&c) && c != '\u{f7}')
}

fn is_latin1_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || c == '_'
        || c == '@'
        || (('\u{c0}'..='\u{ff}').contains(&c) && c != '\u{d7}' && c != '\u{f7}')
}

fn atom_needs_quotes(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if is_latin1_lower(c) => {}
        _ => return true,
    }
    !chars.all(is_latin1_name_char) || RESERVED.contains(&s)
}

fn write_atom(s: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if atom_needs_quotes(s) {
        write_quoted_atom(s, f)
    } else {
        f.write_str(s)
    }
}

/// Always quoted (used for node names so that `.` separators stay unambiguous).
fn write_quoted_atom(s: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_char('\'')?;
    for c in s.chars() {
        write_escaped(c, '\'', f)?;
    }
    f.write_char('\'')
}

fn write_escaped(c: char, quote: char, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match c {
        '\n' => f.write_str("\\n"),
        '\r' => f.write_str("\\r"),
        '\t' => f.write_str("\\t"),
        '\u{b}' => f.write_str("\\v"),
        '\u{8}' => f.write_str("\\b"),
        '\u{c}' => f.write_str("\\f"),
        '\u{1b}' => f.write_str("\\e"),
        '\\' => f.write_str("\\\\"),
        c if c == quote => write!(f, "\\{c}"),
        c if (c as u32) < 32 || c == '\u{7f}' => write!(f, "\\x{{{:X}}}", c as u32),
        c => f.write_char(c),
    }
}

/// `io_lib:printable_latin1_list/1` for one character.
fn printable_latin1(c: u32) -> bool {
    matches!(c, 32..=126 | 160..=255 | 8..=13 | 27)
}

fn printable_unicode(c: char) -> bool {
    printable_latin1(c as u32) || (c as u32 > 255 && !c.is_control())
}

fn write_term(t: &Term, f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
    if depth > MAX_DEPTH {
        return f.write_str("...");
    }
    let d = depth + 1;
    match t {
        Term::Atom(a) => write_atom(a.as_str(), f),
        Term::Int(i) => write!(f, "{i}"),
        Term::BigInt(b) => write!(f, "{b}"),
        Term::Float(x) => f.write_str(&format_float(x.0)),
        Term::Pid(p) => write!(f, "{p}"),
        Term::Port(p) => write!(f, "{p}"),
        Term::Ref(r) => write!(f, "{r}"),
        Term::Binary(b) => write_binary(b, f),
        Term::BitBinary(bb) => write_bits(bb, f),
        Term::Tuple(ts) => {
            f.write_char('{')?;
            write_seq(ts, f, d)?;
            f.write_char('}')
        }
        Term::Nil => f.write_str("[]"),
        Term::List(ts) => {
            let printable = ts.iter().all(|e| matches!(e, Term::Int(i) if printable_latin1(*i as u32) && *i >= 0 && *i <= 255));
            if printable && !ts.is_empty() {
                f.write_char('"')?;
                for e in ts.iter() {
                    if let Term::Int(i) = e {
                        write_escaped(char::from(*i as u8), '"', f)?;
                    }
                }
                f.write_char('"')
            } else {
                f.write_char('[')?;
                write_seq(ts, f, d)?;
                f.write_char(']')
            }
        }
        Term::ImproperList(il) => {
            f.write_char('[')?;
            write_seq(&il.elements, f, d)?;
            f.write_char('|')?;
            write_term(&il.tail, f, d)?;
            f.write_char(']')
        }
        Term::Map(m) => {
            f.write_str("#{")?;
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    f.write_char(',')?;
                }
                write_term(k, f, d)?;
                f.write_str(" => ")?;
                write_term(v, f, d)?;
            }
            f.write_char('}')
        }
        Term::ExportFun(e) => {
            f.write_str("fun ")?;
            write_atom(e.module.as_str(), f)?;
            f.write_char(':')?;
            write_atom(e.function.as_str(), f)?;
            write!(f, "/{}", e.arity)
        }
        Term::InternalFun(fun) => {
            f.write_str("#Fun<")?;
            write_quoted_atom(fun.module.as_str(), f)?;
            write!(f, ".{}.{}>", fun.index, fun.old_uniq)
        }
        Term::Record(r) => {
            f.write_char('#')?;
            write_atom(r.module.as_str(), f)?;
            f.write_char(':')?;
            write_atom(r.name.as_str(), f)?;
            f.write_char('{')?;
            for (i, (k, v)) in r.fields.iter().enumerate() {
                if i > 0 {
                    f.write_char(',')?;
                }
                write_atom(k.as_str(), f)?;
                f.write_str(" = ")?;
                write_term(v, f, d)?;
            }
            f.write_char('}')
        }
    }
}

fn write_seq(ts: &[Term], f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
    for (i, e) in ts.iter().enumerate() {
        if i > 0 {
            f.write_char(',')?;
        }
        write_term(e, f, depth)?;
    }
    Ok(())
}

fn write_binary(b: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if b.is_empty() {
        return f.write_str("<<>>");
    }
    if b.iter().all(|&c| printable_latin1(c as u32) && c < 128) {
        f.write_str("<<\"")?;
        for &c in b {
            write_escaped(char::from(c), '"', f)?;
        }
        return f.write_str("\">>");
    }
    if let Ok(s) = std::str::from_utf8(b) {
        if s.chars().all(printable_unicode) {
            f.write_str("<<\"")?;
            for c in s.chars() {
                write_escaped(c, '"', f)?;
            }
            return f.write_str("\"/utf8>>");
        }
    }
    if b.iter().all(|&c| printable_latin1(c as u32)) {
        f.write_str("<<\"")?;
        for &c in b {
            write_escaped(char::from(c), '"', f)?;
        }
        return f.write_str("\">>");
    }
    f.write_str("<<")?;
    write_bytes(b, f)?;
    f.write_str(">>")
}

fn write_bytes(b: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for (i, c) in b.iter().enumerate() {
        if i > 0 {
            f.write_char(',')?;
        }
        write!(f, "{c}")?;
    }
    Ok(())
}

fn write_bits(bb: &BitBinary, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("<<")?;
    if let Some((last, whole)) = bb.bytes.split_last() {
        write_bytes(whole, f)?;
        if !whole.is_empty() {
            f.write_char(',')?;
        }
        let bits = bb.bits.clamp(1, 8);
        write!(f, "{}:{}", last >> (8 - bits), bits)?;
    }
    f.write_str(">>")
}

/// Erlang's float printing (`io_lib_format`, `float_to_list(F, [short])`): the
/// shortest digits that round-trip, in fixed or scientific notation whichever is
/// shorter (fixed on a tie), always with a fractional part.
pub fn format_float(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    // Rust's `{:e}` gives the shortest round-trip digits, e.g. "1.2345e-5", "1e20".
    let sci = format!("{:e}", x.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let n = digits.len() as i64;
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let sci_s = format!(
        "{}.{}e{}",
        &digits[..1],
        if n > 1 { &digits[1..] } else { "0" },
        exp
    );
    let fixed = if exp >= n - 1 {
        format!("{}{}.0", digits, "0".repeat((exp - (n - 1)) as usize))
    } else if exp < 0 {
        format!("0.{}{}", "0".repeat((-exp - 1) as usize), digits)
    } else {
        let p = (exp + 1) as usize;
        format!("{}.{}", &digits[..p], &digits[p..])
    };
    if sci_s.len() < fixed.len() {
        format!("{sign}{sci_s}")
    } else {
        format!("{sign}{fixed}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_erlang() {
        for (x, s) in [
            (1.0e20, "1.0e20"),
            (1.0e15, "1.0e15"),
            (123456789.0, "123456789.0"),
            (1.0e-5, "1.0e-5"),
            (0.001, "0.001"),
            (0.0001, "0.0001"),
            (12345678901234567890.0, "1.2345678901234567e19"),
            (5.0e-324, "5.0e-324"),
            (1.7976931348623157e308, "1.7976931348623157e308"),
            (-0.0, "-0.0"),
            (100.0, "100.0"),
            (1.0e4, "1.0e4"),
            (123.456, "123.456"),
            (0.1, "0.1"),
            (1.0, "1.0"),
        ] {
            assert_eq!(format_float(x), s, "{x}");
        }
    }

    #[test]
    fn terms_print_like_erlang() {
        let t = Term::list(vec![
            Term::binary("hello"),
            Term::binary("héllo".as_bytes().to_vec()),
            Term::string("a\nb\""),
            Term::atom("_a"),
            Term::atom("A"),
            Term::atom("aB@c"),
            Term::atom("and"),
            Term::atom("a-b"),
            Term::atom("it's"),
            Term::BitBinary(BitBinary {
                bytes: vec![1, 0x40],
                bits: 3,
            }),
            Term::improper_list(vec![Term::Int(1)], Term::Int(2)),
            Term::map(vec![(Term::atom("a"), Term::Int(1))]),
            Term::binary(vec![97, 9, 98, 0]),
            Term::list(vec![Term::Int(955)]),
        ]);
        assert_eq!(
            t.to_string(),
            "[<<\"hello\">>,<<\"héllo\"/utf8>>,\"a\\nb\\\"\",'_a','A',aB@c,'and','a-b',\
             'it\\'s',<<1,2:3>>,[1|2],#{a => 1},<<97,9,98,0>>,[955]]"
        );
    }

    #[test]
    fn deep_terms_print_with_ellipsis() {
        let mut t = Term::Nil;
        for _ in 0..100_000 {
            t = Term::tuple(vec![t]);
        }
        let s = t.to_string();
        assert!(s.contains("..."));
        assert!(s.len() < 1000);
    }

    #[test]
    fn ids_print_with_node() {
        let p = Pid::new(Atom::new("a@h"), 85, 0, 1234);
        assert_eq!(p.to_string(), "#Pid<'a@h'.85.0.1234>");
        let r = Reference {
            node: Atom::new("a@h"),
            creation: 7,
            ids: vec![1, 2, 3],
        };
        assert_eq!(Term::Ref(r).to_string(), "#Ref<'a@h'.7.1.2.3>");
    }
}
