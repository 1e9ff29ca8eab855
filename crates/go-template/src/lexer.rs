//! Splits template text into tokens, following Go's `text/template/parse` lexer: text between
//! actions, `{{`/`}}` with `{{- `/` -}}` trim markers, comments `{{/* */}}`, and inside actions
//! spaces, literals, `.field`, `$var`, identifiers, keywords, `|`, `:=`, `=`, parentheses and `,`.

/// Keywords of the action language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kw {
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
}

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// Plain text outside actions (trim markers already applied).
    Text(String),
    LeftDelim,
    RightDelim,
    /// A run of spaces inside an action (operands are separated by it).
    Space,
    Bool(bool),
    /// A character constant, still quoted: `'a'`.
    Char(String),
    /// A number literal as written.
    Number(String),
    /// A quoted string literal, still quoted: `"a\n"`.
    Str(String),
    /// A raw string literal, still quoted: `` `a` ``.
    RawStr(String),
    Dot,
    /// `.name` (the name without the dot).
    Field(String),
    /// `$name` (with the `$`).
    Variable(String),
    Ident(String),
    Keyword(Kw),
    Nil,
    Pipe,
    Assign,
    Declare,
    LeftParen,
    RightParen,
    Comma,
    /// Any other character inside an action; the parser reports it.
    Other(char),
    Eof,
}

/// A token and the byte range of its text in the template.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// A lexical error at a byte offset.
#[derive(Debug)]
pub(crate) struct LexError {
    pub(crate) pos: usize,
    pub(crate) message: String,
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// `-` followed by a space, right after `{{`.
fn has_left_trim(s: &[u8]) -> bool {
    s.len() >= 2 && s[0] == b'-' && is_space(s[1])
}

/// A space followed by `-`, right before `}}`.
fn has_right_trim(s: &[u8]) -> bool {
    s.len() >= 2 && is_space(s[0]) && s[1] == b'-'
}

struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    toks: Vec<Token>,
}

/// Tokenizes a whole template.
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, LexError> {
    let mut l = Lexer {
        src,
        b: src.as_bytes(),
        pos: 0,
        toks: Vec::new(),
    };
    l.run()?;
    Ok(l.toks)
}

impl Lexer<'_> {
    fn emit(&mut self, tok: Tok, start: usize) {
        self.toks.push(Token {
            tok,
            start,
            end: self.pos,
        });
    }

    fn err<T>(&self, pos: usize, message: impl Into<String>) -> Result<T, LexError> {
        Err(LexError {
            pos,
            message: message.into(),
        })
    }

    fn peek_char(&self) -> Option<char> {
        self.src.get(self.pos..).and_then(|s| s.chars().next())
    }

    fn run(&mut self) -> Result<(), LexError> {
        let mut trim_next_text = false;
        loop {
            // Text up to the next "{{".
            let start = self.pos;
            let open = self.src[start..].find("{{").map(|i| start + i);
            let text_end = open.unwrap_or(self.b.len());
            let mut text = &self.src[start..text_end];
            if trim_next_text {
                text = text.trim_start_matches([' ', '\t', '\r', '\n']);
            }
            let Some(open) = open else {
                if !text.is_empty() {
                    self.pos = text_end;
                    self.emit(Tok::Text(text.to_string()), start);
                }
                self.pos = self.b.len();
                self.emit(Tok::Eof, self.b.len());
                return Ok(());
            };
            let after = open + 2;
            let left_trim = has_left_trim(&self.b[after..]);
            if left_trim {
                text = text.trim_end_matches([' ', '\t', '\r', '\n']);
            }
            if !text.is_empty() {
                self.pos = text_end;
                self.emit(Tok::Text(text.to_string()), start);
            }
            self.pos = after;
            self.emit(Tok::LeftDelim, open);
            if left_trim {
                self.pos += 2;
            }
            if self.b[self.pos..].starts_with(b"/*") {
                trim_next_text = self.comment(open)?;
                continue;
            }
            trim_next_text = self.inside_action(open)?;
        }
    }

    /// A comment `{{/* ... */}}`; returns whether a right trim marker follows.
    fn comment(&mut self, open: usize) -> Result<bool, LexError> {
        let Some(close) = self.src[self.pos + 2..].find("*/") else {
            return self.err(open, "unclosed comment");
        };
        self.pos = self.pos + 2 + close + 2;
        let mut trim = false;
        if has_right_trim(&self.b[self.pos..]) && self.b[self.pos + 2..].starts_with(b"}}") {
            trim = true;
            self.pos += 2;
        }
        if !self.b[self.pos..].starts_with(b"}}") {
            return self.err(open, "comment ends before closing delimiter");
        }
        // The comment produced a LeftDelim; drop it: comments are not actions.
        self.toks.pop();
        self.pos += 2;
        Ok(trim)
    }

    /// At `}}`, or at ` -}}`: Some(trim).
    fn at_right_delim(&self) -> Option<bool> {
        let s = &self.b[self.pos..];
        if s.starts_with(b"}}") {
            return Some(false);
        }
        if has_right_trim(s) && s[2..].starts_with(b"}}") {
            return Some(true);
        }
        None
    }

    fn at_terminator(&self) -> bool {
        let s = &self.b[self.pos..];
        match s.first() {
            None => true,
            Some(&c) => {
                is_space(c)
                    || matches!(c, b'.' | b',' | b'|' | b':' | b')' | b'(')
                    || s.starts_with(b"}}")
            }
        }
    }

    /// Lexes one action up to and including `}}`; returns whether it ended with a trim marker.
    fn inside_action(&mut self, open: usize) -> Result<bool, LexError> {
        let mut paren_depth: usize = 0;
        loop {
            if let Some(trim) = self.at_right_delim() {
                if paren_depth > 0 {
                    return self.err(self.pos, "unclosed left paren");
                }
                let start = self.pos;
                self.pos += if trim { 4 } else { 2 };
                self.emit(Tok::RightDelim, start);
                return Ok(trim);
            }
            let start = self.pos;
            let Some(c) = self.peek_char() else {
                return self.err(open, "unclosed action");
            };
            match c {
                ' ' | '\t' | '\r' | '\n' => {
                    while self.pos < self.b.len() && is_space(self.b[self.pos]) {
                        if has_right_trim(&self.b[self.pos..])
                            && self.b[self.pos + 2..].starts_with(b"}}")
                        {
                            break;
                        }
                        self.pos += 1;
                    }
                    if self.pos > start {
                        self.emit(Tok::Space, start);
                    }
                }
                '=' => {
                    self.pos += 1;
                    self.emit(Tok::Assign, start);
                }
                ':' => {
                    if self.b.get(self.pos + 1) != Some(&b'=') {
                        return self.err(start, "expected :=");
                    }
                    self.pos += 2;
                    self.emit(Tok::Declare, start);
                }
                '|' => {
                    self.pos += 1;
                    self.emit(Tok::Pipe, start);
                }
                '"' => {
                    self.quoted(b'"', "unterminated quoted string")?;
                    let text = self.src[start..self.pos].to_string();
                    self.emit(Tok::Str(text), start);
                }
                '\'' => {
                    self.quoted(b'\'', "unterminated character constant")?;
                    let text = self.src[start..self.pos].to_string();
                    self.emit(Tok::Char(text), start);
                }
                '`' => {
                    let Some(end) = self.src[start + 1..].find('`') else {
                        return self.err(start, "unterminated raw quoted string");
                    };
                    self.pos = start + 1 + end + 1;
                    let text = self.src[start..self.pos].to_string();
                    self.emit(Tok::RawStr(text), start);
                }
                '$' => {
                    self.pos += 1;
                    self.alnum_run();
                    self.check_terminator()?;
                    let text = self.src[start..self.pos].to_string();
                    self.emit(Tok::Variable(text), start);
                }
                '.' => {
                    if self.b.get(self.pos + 1).is_some_and(u8::is_ascii_digit) {
                        self.number()?;
                        continue;
                    }
                    self.pos += 1;
                    self.alnum_run();
                    if self.pos == start + 1 {
                        self.emit(Tok::Dot, start);
                    } else {
                        self.check_terminator()?;
                        let name = self.src[start + 1..self.pos].to_string();
                        self.emit(Tok::Field(name), start);
                    }
                }
                '+' | '-' | '0'..='9' => self.number()?,
                '(' => {
                    self.pos += 1;
                    paren_depth += 1;
                    self.emit(Tok::LeftParen, start);
                }
                ')' => {
                    if paren_depth == 0 {
                        return self.err(start, "unexpected right paren");
                    }
                    paren_depth -= 1;
                    self.pos += 1;
                    self.emit(Tok::RightParen, start);
                }
                ',' => {
                    self.pos += 1;
                    self.emit(Tok::Comma, start);
                }
                c if is_alnum(c) => {
                    self.alnum_run();
                    self.check_terminator()?;
                    let word = &self.src[start..self.pos];
                    let tok = match word {
                        "block" => Tok::Keyword(Kw::Block),
                        "break" => Tok::Keyword(Kw::Break),
                        "continue" => Tok::Keyword(Kw::Continue),
                        "define" => Tok::Keyword(Kw::Define),
                        "else" => Tok::Keyword(Kw::Else),
                        "end" => Tok::Keyword(Kw::End),
                        "if" => Tok::Keyword(Kw::If),
                        "range" => Tok::Keyword(Kw::Range),
                        "template" => Tok::Keyword(Kw::Template),
                        "with" => Tok::Keyword(Kw::With),
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        "nil" => Tok::Nil,
                        w => Tok::Ident(w.to_string()),
                    };
                    self.emit(tok, start);
                }
                c => {
                    if !c.is_ascii() || c.is_ascii_control() {
                        return self.err(
                            start,
                            format!("unrecognized character in action: {}", describe(c)),
                        );
                    }
                    self.pos += c.len_utf8();
                    self.emit(Tok::Other(c), start);
                }
            }
        }
    }

    fn alnum_run(&mut self) {
        while let Some(c) = self.peek_char() {
            if !is_alnum(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
    }

    fn check_terminator(&self) -> Result<(), LexError> {
        if self.at_terminator() {
            return Ok(());
        }
        let c = self.peek_char().unwrap_or(' ');
        self.err(self.pos, format!("bad character {}", describe(c)))
    }

    /// Scans a quoted literal; backslash escapes the next character.
    fn quoted(&mut self, quote: u8, unterminated: &str) -> Result<(), LexError> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.b.get(self.pos) {
                None | Some(b'\n') => return self.err(start, unterminated),
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek_char() {
                        None | Some('\n') => return self.err(start, unterminated),
                        Some(c) => self.pos += c.len_utf8(),
                    }
                }
                Some(&c) if c == quote => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(_) => {
                    let c = self.peek_char().map_or(1, char::len_utf8);
                    self.pos += c;
                }
            }
        }
    }

    /// Go's scanNumber: sign, base prefix, digits with `_`, fraction, exponent, imaginary `i`.
    fn number(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        let accept = |l: &mut Self, set: &str| -> bool {
            match l.b.get(l.pos) {
                Some(&c) if set.as_bytes().contains(&c) => {
                    l.pos += 1;
                    true
                }
                _ => false,
            }
        };
        let accept_run = |l: &mut Self, set: &str| {
            while let Some(&c) = l.b.get(l.pos) {
                if !set.as_bytes().contains(&c) {
                    break;
                }
                l.pos += 1;
            }
        };
        accept(self, "+-");
        let mut digits = "0123456789_";
        if accept(self, "0") {
            if accept(self, "xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if accept(self, "oO") {
                digits = "01234567_";
            } else if accept(self, "bB") {
                digits = "01_";
            }
        }
        accept_run(self, digits);
        if accept(self, ".") {
            accept_run(self, digits);
        }
        if digits.len() == 11 && accept(self, "eE") {
            accept(self, "+-");
            accept_run(self, "0123456789_");
        }
        if digits.len() == 23 && accept(self, "pP") {
            accept(self, "+-");
            accept_run(self, "0123456789_");
        }
        accept(self, "i");
        if self.peek_char().is_some_and(is_alnum) {
            self.pos += self.peek_char().map_or(1, char::len_utf8);
            return self.err(
                start,
                format!("bad number syntax: {:?}", &self.src[start..self.pos]),
            );
        }
        let text = self.src[start..self.pos].to_string();
        self.emit(Tok::Number(text), start);
        Ok(())
    }
}

/// Go's `%#U` of a rune.
fn describe(c: char) -> String {
    if super::strconv::is_print(c) {
        format!("U+{:04X} '{c}'", c as u32)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s)
            .map(|t| t.into_iter().map(|t| t.tok).collect())
            .unwrap_or_default()
    }

    #[test]
    fn text_and_actions() {
        assert_eq!(
            toks("a {{ .x }} b"),
            vec![
                Tok::Text("a ".into()),
                Tok::LeftDelim,
                Tok::Space,
                Tok::Field("x".into()),
                Tok::Space,
                Tok::RightDelim,
                Tok::Text(" b".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn trim_markers() {
        assert_eq!(
            toks("a  \n{{- 3 -}}\n  b"),
            vec![
                Tok::Text("a".into()),
                Tok::LeftDelim,
                Tok::Number("3".into()),
                Tok::RightDelim,
                Tok::Text("b".into()),
                Tok::Eof
            ]
        );
        // `{{-3}}` is the number -3, not a trim marker.
        assert_eq!(toks("{{-3}}")[1], Tok::Number("-3".into()));
    }

    #[test]
    fn comments() {
        assert_eq!(
            toks("a {{/* c */}} b"),
            vec![Tok::Text("a ".into()), Tok::Text(" b".into()), Tok::Eof]
        );
        assert_eq!(
            toks("a {{- /* c */ -}} b"),
            vec![Tok::Text("a".into()), Tok::Text("b".into()), Tok::Eof]
        );
        assert!(lex("{{/* c */ x}}").is_err());
        assert!(lex("{{/* c ").is_err());
    }

    #[test]
    fn action_tokens() {
        assert_eq!(
            toks("{{$x := index . \"k\" | len}}"),
            vec![
                Tok::LeftDelim,
                Tok::Variable("$x".into()),
                Tok::Space,
                Tok::Declare,
                Tok::Space,
                Tok::Ident("index".into()),
                Tok::Space,
                Tok::Dot,
                Tok::Space,
                Tok::Str("\"k\"".into()),
                Tok::Space,
                Tok::Pipe,
                Tok::Space,
                Tok::Ident("len".into()),
                Tok::RightDelim,
                Tok::Eof
            ]
        );
        assert_eq!(
            toks("{{.a.b}}")[1..3],
            [Tok::Field("a".into()), Tok::Field("b".into())]
        );
        assert_eq!(
            toks("{{ 0x1F 1.5e3 'a' `r` }}")[2],
            Tok::Number("0x1F".into())
        );
    }

    #[test]
    fn errors() {
        for bad in [
            "{{",
            "{{ .x",
            "{{ \"abc }}",
            "{{ ) }}",
            "{{ ( }}",
            "{{ 3x }}",
            "{{ a: }}",
            "{{ .x# }}",
            "{{ \u{1} }}",
        ] {
            assert!(lex(bad).is_err(), "{bad}");
        }
    }
}
