//! Parsing Erlang term text into [`Term`]s: the inverse of [`super::display`].
//!
//! Accepts what a user types in `erl` for a literal term, and everything
//! [`Term`]'s `Display` prints, so `parse(&t.to_string()) == t` for every term that has
//! a textual form (all but closures, printed as `#Fun<…>` without their environment),
//! except that a native record always parses as exported (`~p` does not show the flag,
//! so a non-exported record comes back with `exported: true`):
//! * atoms, bare (`ok`, `aB@c`) or quoted (`'hello world'`, with escapes);
//! * integers of any size, `16#ff`, `2#1010`, `1_000`, characters `$a`, `$\n`;
//! * floats `1.0`, `-2.5e-3`;
//! * strings `"abc"` (a list of character codes; `""` is `[]`);
//! * binaries `<<"x">>`, `<<"é"/utf8>>`, `<<1,2,3>>`, bitstrings `<<1,2:3>>`;
//! * lists, improper lists `[a|b]`, tuples, maps `#{k => v}`;
//! * native records (OTP 29) `#m:r{a = 1, b = 2}` (module required, fields in the
//!   order given, names distinct);
//! * `fun m:f/2`, and beamnode's `#Pid<'n@h'.ID.SERIAL.CREATION>`,
//!   `#Port<'n@h'.ID.CREATION>`, `#Ref<'n@h'.CREATION.W0.W1…>`.
//!
//! Whitespace and `%` comments are skipped; one trailing `.` is allowed, as in the
//! shell. Nesting deeper than [`MAX_NESTING`] is refused rather than risking the stack.

use super::{Atom, BitBinary, ExportFun, NativeRecord, Pid, Port, Reference, Term};
use num_bigint::BigInt;

/// Containers nested deeper than this are a [`ParseError`].
pub const MAX_NESTING: usize = 1000;

/// Why the text is not an Erlang term.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("syntax error at byte {offset}: {message}")]
pub struct ParseError {
    /// Byte offset in the input where the problem was found.
    pub offset: usize,
    /// What was expected or found.
    pub message: String,
}

/// Parses one term (optionally followed by `.`) that must make up the whole text.
pub fn parse_term(text: &str) -> Result<Term, ParseError> {
    let mut p = Parser { s: text, pos: 0 };
    let t = p.term(0)?;
    p.skip_ws();
    if p.peek() == Some('.') {
        p.pos += 1;
        p.skip_ws();
    }
    if p.pos != p.s.len() {
        return Err(p.err("unexpected text after the term"));
    }
    Ok(t)
}

/// Parses a list term (`[a, 1]`) into its elements, as `erl_call -a 'm f [Args]'` does
/// for an argument list. Anything but a proper list is an error.
pub fn parse_args(text: &str) -> Result<Vec<Term>, ParseError> {
    match parse_term(text)? {
        Term::Nil => Ok(Vec::new()),
        Term::List(ts) => Ok(ts.to_vec()),
        _ => Err(ParseError {
            offset: 0,
            message: "the arguments must be a proper list, e.g. [1, two]".into(),
        }),
    }
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || c == '_'
        || c == '@'
        || (('\u{c0}'..='\u{ff}').contains(&c) && c != '\u{d7}' && c != '\u{f7}')
}

fn is_atom_start(c: char) -> bool {
    c.is_ascii_lowercase() || (('\u{df}'..='\u{ff}').contains(&c) && c != '\u{f7}')
}

impl<'a> Parser<'a> {
    fn err(&self, message: &str) -> ParseError {
        ParseError {
            offset: self.pos,
            message: message.to_string(),
        }
    }

    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else if c == '%' {
                while let Some(c) = self.bump() {
                    if c == '\n' {
                        break;
                    }
                }
            } else {
                break;
            }
        }
    }

    fn eat(&mut self, tok: &str) -> bool {
        self.skip_ws();
        if self.rest().starts_with(tok) {
            self.pos += tok.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &str) -> Result<(), ParseError> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(self.err(&format!("expected `{tok}`")))
        }
    }

    fn term(&mut self, depth: usize) -> Result<Term, ParseError> {
        if depth > MAX_NESTING {
            return Err(self.err("nesting too deep"));
        }
        self.skip_ws();
        let d = depth + 1;
        let c = self
            .peek()
            .ok_or_else(|| self.err("unexpected end of input"))?;
        match c {
            '{' => {
                self.pos += 1;
                Ok(Term::tuple(self.seq('}', d)?))
            }
            '[' => {
                self.pos += 1;
                self.list(d)
            }
            '#' if self.rest().starts_with("#{") => {
                self.pos += 2;
                self.map(d)
            }
            '#' if matches!(self.rest()[1..].chars().next(), Some(c) if c == '\'' || is_atom_start(c)) =>
            {
                self.pos += 1;
                self.record(d)
            }
            '#' => self.id_form(),
            '<' if self.rest().starts_with("<<") => {
                self.pos += 2;
                self.binary()
            }
            '"' => {
                let s = self.quoted('"')?;
                Ok(Term::list(s.chars().map(|c| Term::Int(c as i64)).collect()))
            }
            '\'' => Ok(Term::Atom(Atom::new(&self.quoted('\'')?))),
            '$' => {
                self.pos += 1;
                let c = self.char_in_literal()?;
                Ok(Term::Int(c as i64))
            }
            '-' | '+' | '0'..='9' => self.number(),
            c if is_atom_start(c) => {
                let name = self.bare_name();
                if name == "fun" {
                    return self.export_fun();
                }
                Ok(Term::Atom(Atom::new(name)))
            }
            _ => Err(self.err(&format!("unexpected `{c}`"))),
        }
    }

    fn bare_name(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if is_name_char(c) {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
        &self.s[start..self.pos]
    }

    fn atom(&mut self) -> Result<Atom, ParseError> {
        self.skip_ws();
        match self.peek() {
            Some('\'') => Ok(Atom::new(&self.quoted('\'')?)),
            Some(c) if is_atom_start(c) => Ok(Atom::new(self.bare_name())),
            _ => Err(self.err("expected an atom")),
        }
    }

    fn seq(&mut self, close: char, depth: usize) -> Result<Vec<Term>, ParseError> {
        let mut out = Vec::new();
        self.skip_ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(out);
        }
        loop {
            out.push(self.term(depth)?);
            self.skip_ws();
            match self.bump() {
                Some(',') => {}
                Some(c) if c == close => return Ok(out),
                _ => return Err(self.err(&format!("expected `,` or `{close}`"))),
            }
        }
    }

    fn list(&mut self, depth: usize) -> Result<Term, ParseError> {
        let mut out = Vec::new();
        if self.eat("]") {
            return Ok(Term::Nil);
        }
        loop {
            out.push(self.term(depth)?);
            self.skip_ws();
            match self.bump() {
                Some(',') => {}
                Some(']') => return Ok(Term::list(out)),
                Some('|') => {
                    let tail = self.term(depth)?;
                    self.expect("]")?;
                    return Ok(Term::improper_list(out, tail));
                }
                _ => return Err(self.err("expected `,`, `|` or `]`")),
            }
        }
    }

    fn map(&mut self, depth: usize) -> Result<Term, ParseError> {
        let mut entries = Vec::new();
        if self.eat("}") {
            return Ok(Term::map(entries));
        }
        loop {
            let k = self.term(depth)?;
            self.expect("=>")?;
            let v = self.term(depth)?;
            entries.push((k, v));
            self.skip_ws();
            match self.bump() {
                Some(',') => {}
                Some('}') => return Ok(Term::map(entries)),
                _ => return Err(self.err("expected `,` or `}`")),
            }
        }
    }

    /// `#module:name{field = value, …}` (after the `#`): a native record, exported.
    fn record(&mut self, depth: usize) -> Result<Term, ParseError> {
        let module = self.atom()?;
        if !self.eat(":") {
            return Err(self.err("expected `:` (a native record needs its module: `#m:r{…}`)"));
        }
        let name = self.atom()?;
        self.expect("{")?;
        let mut fields: Vec<(Atom, Term)> = Vec::new();
        if !self.eat("}") {
            loop {
                let at = self.pos;
                let k = self.atom()?;
                if fields.iter().any(|(f, _)| *f == k) {
                    return Err(ParseError {
                        offset: at,
                        message: format!("field `{k}` given twice"),
                    });
                }
                self.expect("=")?;
                let v = self.term(depth)?;
                fields.push((k, v));
                self.skip_ws();
                match self.bump() {
                    Some(',') => {}
                    Some('}') => break,
                    _ => return Err(self.err("expected `,` or `}`")),
                }
            }
        }
        Ok(Term::Record(Box::new(NativeRecord {
            module,
            name,
            exported: true,
            fields,
        })))
    }

    fn export_fun(&mut self) -> Result<Term, ParseError> {
        let module = self.atom()?;
        self.expect(":")?;
        let function = self.atom()?;
        self.expect("/")?;
        self.skip_ws();
        let arity = self.unsigned()?;
        let arity = u8::try_from(arity).map_err(|_| self.err("arity above 255"))?;
        Ok(Term::ExportFun(ExportFun {
            module,
            function,
            arity,
        }))
    }

    fn unsigned(&mut self) -> Result<u64, ParseError> {
        let start = self.pos;
        while matches!(self.peek(), Some('0'..='9')) {
            self.pos += 1;
        }
        self.s[start..self.pos]
            .parse()
            .map_err(|_| self.err("expected a number"))
    }

    /// `#Pid<'n'.I.S.C>`, `#Port<'n'.I.C>`, `#Ref<'n'.C.W…>`.
    fn id_form(&mut self) -> Result<Term, ParseError> {
        let kind = if self.eat("#Pid<") {
            "pid"
        } else if self.eat("#Port<") {
            "port"
        } else if self.eat("#Ref<") {
            "ref"
        } else if self.rest().starts_with("#Fun<") {
            return Err(self.err("a closure (#Fun<…>) cannot be rebuilt from text"));
        } else {
            return Err(self.err("unexpected `#`"));
        };
        let node = self.atom()?;
        let mut nums = Vec::new();
        while self.eat(".") {
            nums.push(self.unsigned()?);
        }
        self.expect(">")?;
        let u32_of = |n: u64| u32::try_from(n).ok();
        let bad = |p: &Self| p.err("wrong number or size of fields");
        match (kind, nums.as_slice()) {
            ("pid", [i, s, c]) => match (u32_of(*i), u32_of(*s), u32_of(*c)) {
                (Some(i), Some(s), Some(c)) => Ok(Term::Pid(Pid::new(node, i, s, c))),
                _ => Err(bad(self)),
            },
            ("port", [i, c]) => match u32_of(*c) {
                Some(c) => Ok(Term::Port(Port {
                    node,
                    id: *i,
                    creation: c,
                })),
                None => Err(bad(self)),
            },
            ("ref", [c, ws @ ..]) if !ws.is_empty() && ws.len() <= 5 => {
                let ids: Option<Vec<u32>> = ws.iter().map(|w| u32_of(*w)).collect();
                match (u32_of(*c), ids) {
                    (Some(creation), Some(ids)) => Ok(Term::Ref(Reference {
                        node,
                        creation,
                        ids,
                    })),
                    _ => Err(bad(self)),
                }
            }
            _ => Err(bad(self)),
        }
    }

    /// `<<Seg, …>>`: `"text"[/utf8|/latin1]`, `Int[:Bits]`.
    fn binary(&mut self) -> Result<Term, ParseError> {
        let mut bits = BitWriter::default();
        if !self.eat(">>") {
            loop {
                self.skip_ws();
                if self.peek() == Some('"') {
                    let s = self.quoted('"')?;
                    if self.eat("/utf8") {
                        for b in s.as_bytes() {
                            bits.push(u64::from(*b), 8);
                        }
                    } else {
                        let _ = self.eat("/latin1");
                        for c in s.chars() {
                            bits.push(u64::from(c as u32 & 0xff), 8);
                        }
                    }
                } else {
                    let v = match self.number()? {
                        Term::Int(i) => i,
                        _ => return Err(self.err("binary segment out of range")),
                    };
                    let size = if self.eat(":") {
                        self.skip_ws();
                        self.unsigned()?
                    } else {
                        8
                    };
                    if !(1..=64).contains(&size) {
                        return Err(self.err("segment size must be 1..64 bits"));
                    }
                    bits.push(v as u64, size as u32);
                }
                self.skip_ws();
                if self.eat(">>") {
                    break;
                }
                self.expect(",")?;
            }
        }
        Ok(bits.finish())
    }

    fn number(&mut self) -> Result<Term, ParseError> {
        self.skip_ws();
        let neg = match self.peek() {
            Some('-') => {
                self.pos += 1;
                true
            }
            Some('+') => {
                self.pos += 1;
                false
            }
            _ => false,
        };
        if self.peek() == Some('$') {
            self.pos += 1;
            let c = i64::from(self.char_in_literal()? as u32);
            return Ok(Term::Int(if neg { -c } else { c }));
        }
        let start = self.pos;
        while matches!(self.peek(), Some('0'..='9' | '_')) {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(self.err("expected a number"));
        }
        let int_part: String = self.s[start..self.pos].replace('_', "");
        let mut radix = 10u32;
        let mut digits = int_part.clone();
        if self.peek() == Some('#') {
            radix = int_part
                .parse()
                .ok()
                .filter(|r| (2..=36).contains(r))
                .ok_or_else(|| self.err("base must be 2..36"))?;
            self.pos += 1;
            let s = self.pos;
            while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == '_') {
                self.pos += 1;
            }
            digits = self.s[s..self.pos].replace('_', "");
        } else if self.peek() == Some('.')
            && matches!(self.rest()[1..].chars().next(), Some('0'..='9'))
        {
            self.pos += 1;
            while matches!(self.peek(), Some('0'..='9' | '_')) {
                self.pos += 1;
            }
            if matches!(self.peek(), Some('e' | 'E')) {
                self.pos += 1;
                if matches!(self.peek(), Some('-' | '+')) {
                    self.pos += 1;
                }
                while matches!(self.peek(), Some('0'..='9')) {
                    self.pos += 1;
                }
            }
            let text = self.s[start..self.pos].replace('_', "");
            let x: f64 = text.parse().map_err(|_| self.err("bad float"))?;
            if !x.is_finite() {
                return Err(self.err("float out of range"));
            }
            return Ok(Term::Float(super::Float(if neg { -x } else { x })));
        }
        let mut b = BigInt::parse_bytes(digits.as_bytes(), radix)
            .ok_or_else(|| self.err("bad digits for the base"))?;
        if neg {
            b = -b;
        }
        Ok(Term::from_bigint(b))
    }

    /// The character after `$`, escapes included.
    fn char_in_literal(&mut self) -> Result<char, ParseError> {
        match self.bump() {
            Some('\\') => self.escape(),
            Some(c) => Ok(c),
            None => Err(self.err("expected a character")),
        }
    }

    fn quoted(&mut self, q: char) -> Result<String, ParseError> {
        self.pos += q.len_utf8();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(self.err("unterminated quote")),
                Some(c) if c == q => return Ok(out),
                Some('\\') => out.push(self.escape()?),
                Some(c) => out.push(c),
            }
        }
    }

    /// After a backslash (Erlang's escape sequences).
    fn escape(&mut self) -> Result<char, ParseError> {
        let c = self.bump().ok_or_else(|| self.err("unterminated escape"))?;
        Ok(match c {
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\u{b}',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'e' => '\u{1b}',
            's' => ' ',
            'd' => '\u{7f}',
            '0'..='7' => {
                let mut v = c as u32 - '0' as u32;
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ '0'..='7') => {
                            self.pos += 1;
                            v = v * 8 + (d as u32 - '0' as u32);
                        }
                        _ => break,
                    }
                }
                char::from_u32(v).ok_or_else(|| self.err("bad octal escape"))?
            }
            'x' => {
                let hex = if self.peek() == Some('{') {
                    self.pos += 1;
                    let end = self
                        .rest()
                        .find('}')
                        .ok_or_else(|| self.err("unterminated \\x{"))?;
                    let h = &self.s[self.pos..self.pos + end];
                    self.pos += end + 1;
                    h
                } else {
                    let h = self.rest().get(..2).unwrap_or("");
                    self.pos += h.len();
                    h
                };
                u32::from_str_radix(hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| self.err("bad \\x escape"))?
            }
            '^' => {
                let k = self.bump().ok_or_else(|| self.err("bad \\^ escape"))?;
                char::from_u32(k as u32 & 0x1f).ok_or_else(|| self.err("bad \\^ escape"))?
            }
            other => other,
        })
    }
}

/// Accumulates binary segments bit by bit.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    /// Bits used in the last byte (0 = byte-aligned).
    used: u32,
}

impl BitWriter {
    fn push(&mut self, value: u64, size: u32) {
        for i in (0..size).rev() {
            let bit = ((value >> i) & 1) as u8;
            if self.used == 0 {
                self.bytes.push(0);
            }
            if let Some(last) = self.bytes.last_mut() {
                *last |= bit << (7 - self.used);
            }
            self.used = (self.used + 1) % 8;
        }
    }

    fn finish(self) -> Term {
        if self.used == 0 {
            Term::Binary(self.bytes.into())
        } else {
            Term::BitBinary(BitBinary {
                bytes: self.bytes,
                bits: self.used as u8,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_issue_example() {
        let t = parse_term(r#"{ok, [1, 2, <<"x">>], #{a => 1}}"#).unwrap();
        assert_eq!(t.to_string(), r#"{ok,[1,2,<<"x">>],#{a => 1}}"#);
    }

    #[test]
    fn numbers_chars_and_escapes() {
        assert_eq!(parse_term("16#ff").unwrap(), Term::Int(255));
        assert_eq!(parse_term("-2#101").unwrap(), Term::Int(-5));
        assert_eq!(parse_term("$a").unwrap(), Term::Int(97));
        assert_eq!(parse_term("$\\n").unwrap(), Term::Int(10));
        assert_eq!(parse_term("1_000.").unwrap(), Term::Int(1000));
        assert_eq!(parse_term("-0.0").unwrap().to_string(), "-0.0");
        assert_eq!(parse_term("2.5e-3").unwrap().to_string(), "0.0025");
        assert_eq!(
            parse_term("123456789012345678901234567890")
                .unwrap()
                .to_string(),
            "123456789012345678901234567890"
        );
        assert_eq!(parse_term(r#""a\x{41}\101""#).unwrap(), Term::string("aAA"));
        assert_eq!(parse_term("'it\\'s'").unwrap(), Term::atom("it's"));
        assert_eq!(parse_term("\"\"").unwrap(), Term::Nil);
    }

    #[test]
    fn binaries_and_bitstrings() {
        assert_eq!(
            parse_term("<<1,2,3>>").unwrap(),
            Term::binary(vec![1, 2, 3])
        );
        assert_eq!(
            parse_term("<<\"é\"/utf8>>").unwrap(),
            Term::binary("é".as_bytes().to_vec())
        );
        assert_eq!(parse_term("<<1,2:3>>").unwrap().to_string(), "<<1,2:3>>");
        assert_eq!(parse_term("<<>>").unwrap(), Term::binary(vec![]));
    }

    #[test]
    fn native_records() {
        let t = parse_term("#'My mod':'if'{'Fa' = <<\"x\">>, 'b c' = [1|2], z = #m:e{}}").unwrap();
        assert_eq!(
            t.to_string(),
            "#'My mod':'if'{'Fa' = <<\"x\">>,'b c' = [1|2],z = #m:e{}}"
        );
        let Term::Record(r) = &t else { panic!("{t:?}") };
        assert!(r.exported);
        assert_eq!(r.fields.len(), 3);
        assert_eq!(parse_term(&t.to_string()).unwrap(), t);
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "{a",
            "[1|]",
            "X",
            "#Fun<'m'.1.2>",
            "{a} b",
            "<<1:0>>",
            "#r{a = 1}",
            "#m:r{a = 1, a = 2}",
            "#m:r{1 = 2}",
            "#m:r{a => 1}",
            "#m:r{a = 1",
        ] {
            assert!(parse_term(s).is_err(), "{s}");
        }
        assert!(parse_args("{a}").is_err());
        assert_eq!(parse_args("[1, a]").unwrap().len(), 2);
    }
}
