//! Builds the syntax tree of a template from its tokens, with the structure and checks of Go's
//! `text/template/parse`: actions, pipelines with `$x :=`/`$x =` declarations, commands,
//! `if`/`else if`/`range`/`with`/`else with`/`break`/`continue`, `define`/`template`/`block`,
//! and parse-time errors for undefined variables and undefined functions.

use std::collections::HashMap;
use std::rc::Rc;

use super::error::TemplateError;
use super::funcs::{self, FuncDef, Lookup, MAX_DEPTH};
use super::lexer::{self, Kw, Tok, Token};
use super::literal::{Num, char_value, parse_number, unquote};

/// A byte range of the template text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// A parsed template: the main list and the `define`d templates.
pub(crate) struct Tree {
    pub(crate) root: Vec<Node>,
    pub(crate) defs: HashMap<String, Rc<Vec<Node>>>,
}

/// A node of a template list.
pub(crate) enum Node {
    /// Text and its byte offset.
    Text(usize, String),
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    Template {
        span: Span,
        name: String,
        pipe: Option<Pipe>,
    },
    Break,
    Continue,
}

/// The shared shape of `if`, `range` and `with`.
pub(crate) struct Branch {
    pub(crate) pipe: Pipe,
    pub(crate) list: Vec<Node>,
    pub(crate) else_list: Option<Vec<Node>>,
}

/// A pipeline: optional variable declarations and `|`-separated commands.
pub(crate) struct Pipe {
    pub(crate) span: Span,
    pub(crate) is_assign: bool,
    pub(crate) decl: Vec<String>,
    pub(crate) cmds: Vec<Cmd>,
}

/// A command: operands separated by spaces, the first possibly a function.
pub(crate) struct Cmd {
    pub(crate) span: Span,
    pub(crate) args: Vec<Arg>,
}

/// An operand.
pub(crate) enum Arg {
    Dot(Span),
    Nil(Span),
    Bool(Span, bool),
    Number(Span, Num),
    Str(Span, Vec<u8>),
    /// `.a.b.c`
    Field(Span, Vec<String>),
    /// `$x.a.b`: the name and the fields.
    Variable(Span, String, Vec<String>),
    /// A function name.
    Func(Span, &'static FuncDef),
    /// `( pipeline )`
    Pipe(Span, Box<Pipe>),
    /// `(pipeline).a.b` or `func.a`: an operand followed by fields.
    Chain(Span, Box<Arg>, Vec<String>),
}

impl Arg {
    pub(crate) fn span(&self) -> Span {
        match self {
            Arg::Dot(s)
            | Arg::Nil(s)
            | Arg::Bool(s, _)
            | Arg::Number(s, _)
            | Arg::Str(s, _)
            | Arg::Field(s, _)
            | Arg::Variable(s, _, _)
            | Arg::Func(s, _)
            | Arg::Pipe(s, _)
            | Arg::Chain(s, _, _) => *s,
        }
    }
}

/// Parses a template.
pub(crate) fn parse(src: &str) -> Result<Tree, TemplateError> {
    let toks = lexer::lex(src).map_err(|e| parse_error(src, e.pos, e.message))?;
    let mut p = Parser {
        src,
        toks,
        i: 0,
        vars: vec!["$".to_string()],
        range_depth: 0,
        depth: 0,
        defs: HashMap::new(),
    };
    let root = p.top()?;
    Ok(Tree { root, defs: p.defs })
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(src: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(src.len());
    let mut pos = pos;
    while !src.is_char_boundary(pos) {
        pos -= 1;
    }
    let before = &src[..pos];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn parse_error(src: &str, pos: usize, message: String) -> TemplateError {
    let (line, column) = line_col(src, pos);
    TemplateError::Parse {
        line,
        column,
        message,
    }
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
    vars: Vec<String>,
    range_depth: usize,
    depth: usize,
    defs: HashMap<String, Rc<Vec<Node>>>,
}

/// How a list of nodes ended.
enum ListEnd {
    End,
    Else(usize),
}

impl<'a> Parser<'a> {
    fn err<T>(&self, pos: usize, message: impl Into<String>) -> Result<T, TemplateError> {
        Err(parse_error(self.src, pos, message.into()))
    }

    fn tok(&self, i: usize) -> &Token {
        // The lexer always ends with Eof, and the parser never moves past it.
        let last = self.toks.len().saturating_sub(1);
        &self.toks[i.min(last)]
    }

    fn next(&mut self) -> Token {
        let t = self.tok(self.i).clone();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn peek(&self) -> &Token {
        self.tok(self.i)
    }

    fn backup(&mut self) {
        self.i = self.i.saturating_sub(1);
    }

    fn next_non_space(&mut self) -> Token {
        loop {
            let t = self.next();
            if t.tok != Tok::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Token {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn describe(t: &Token, src: &str) -> String {
        match &t.tok {
            Tok::Eof => "EOF".to_string(),
            Tok::RightDelim => "\"}}\"".to_string(),
            Tok::LeftDelim => "\"{{\"".to_string(),
            Tok::Keyword(_) => format!("<{}>", &src[t.start..t.end]),
            Tok::Space => "space".to_string(),
            _ => format!("{:?}", src.get(t.start..t.end).unwrap_or("")),
        }
    }

    fn unexpected<T>(&self, t: &Token, context: &str) -> Result<T, TemplateError> {
        self.err(
            t.start,
            format!("unexpected {} in {context}", Self::describe(t, self.src)),
        )
    }

    fn enter(&mut self, pos: usize) -> Result<(), TemplateError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let (line, column) = line_col(self.src, pos);
            return Err(TemplateError::LimitExceeded {
                line,
                column,
                limit: "nesting depth",
                max: MAX_DEPTH,
            });
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// The top level: nodes and `define`s until EOF.
    fn top(&mut self) -> Result<Vec<Node>, TemplateError> {
        let mut root = Vec::new();
        loop {
            if self.peek().tok == Tok::Eof {
                return Ok(root);
            }
            if self.peek().tok == Tok::LeftDelim {
                let save = self.i;
                self.next();
                let t = self.next_non_space();
                if t.tok == Tok::Keyword(Kw::Define) {
                    self.define(t.start)?;
                    continue;
                }
                self.i = save;
            }
            match self.text_or_action()? {
                Item::Node(n) => root.push(n),
                Item::End(pos) => return self.err(pos, "unexpected {{end}}"),
                Item::Else(pos) => return self.err(pos, "unexpected {{else}}"),
            }
        }
    }

    /// `{{define "name"}} list {{end}}`, after the keyword.
    fn define(&mut self, pos: usize) -> Result<(), TemplateError> {
        let name = self.template_name("define clause")?;
        let t = self.next_non_space();
        if t.tok != Tok::RightDelim {
            return self.unexpected(&t, "define clause");
        }
        let saved = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let (list, end) = self.item_list()?;
        self.vars = saved;
        if let ListEnd::Else(p) = end {
            return self.err(p, "unexpected {{else}} in define clause");
        }
        let _ = pos;
        self.defs.insert(name, Rc::new(list));
        Ok(())
    }

    fn template_name(&mut self, context: &str) -> Result<String, TemplateError> {
        let t = self.next_non_space();
        match &t.tok {
            Tok::Str(q) | Tok::RawStr(q) => {
                let b = unquote(q).map_err(|m| parse_error(self.src, t.start, m))?;
                Ok(String::from_utf8_lossy(&b).into_owned())
            }
            _ => self.unexpected(&t, context),
        }
    }

    /// Nodes until `{{end}}` or `{{else}}`.
    fn item_list(&mut self) -> Result<(Vec<Node>, ListEnd), TemplateError> {
        let mut list = Vec::new();
        loop {
            if self.peek().tok == Tok::Eof {
                return self.err(self.src.len(), "unexpected EOF");
            }
            match self.text_or_action()? {
                Item::Node(n) => list.push(n),
                Item::End(_) => return Ok((list, ListEnd::End)),
                Item::Else(p) => return Ok((list, ListEnd::Else(p))),
            }
        }
    }

    fn text_or_action(&mut self) -> Result<Item, TemplateError> {
        let t = self.next_non_space();
        match t.tok {
            Tok::Text(s) => Ok(Item::Node(Node::Text(t.start, s))),
            Tok::LeftDelim => self.action(),
            _ => self.unexpected(&t, "input"),
        }
    }

    fn action(&mut self) -> Result<Item, TemplateError> {
        let t = self.next_non_space();
        match t.tok {
            Tok::Keyword(Kw::Block) => self.block(t.start).map(Item::Node),
            Tok::Keyword(Kw::Break) => self.break_continue(&t, true).map(Item::Node),
            Tok::Keyword(Kw::Continue) => self.break_continue(&t, false).map(Item::Node),
            Tok::Keyword(Kw::Else) => {
                let p = self.peek_non_space();
                if matches!(p.tok, Tok::Keyword(Kw::If | Kw::With)) {
                    return Ok(Item::Else(t.start));
                }
                let r = self.next_non_space();
                if r.tok != Tok::RightDelim {
                    return self.unexpected(&r, "else");
                }
                Ok(Item::Else(t.start))
            }
            Tok::Keyword(Kw::End) => {
                let r = self.next_non_space();
                if r.tok != Tok::RightDelim {
                    return self.unexpected(&r, "end");
                }
                Ok(Item::End(t.start))
            }
            Tok::Keyword(Kw::If) => self.control(t.start, Ctl::If).map(Item::Node),
            Tok::Keyword(Kw::Range) => self.control(t.start, Ctl::Range).map(Item::Node),
            Tok::Keyword(Kw::With) => self.control(t.start, Ctl::With).map(Item::Node),
            Tok::Keyword(Kw::Template) => self.template_call(t.start).map(Item::Node),
            _ => {
                self.backup();
                let pipe = self.pipeline("command", &Tok::RightDelim)?;
                Ok(Item::Node(Node::Action(pipe)))
            }
        }
    }

    fn break_continue(&mut self, t: &Token, is_break: bool) -> Result<Node, TemplateError> {
        let word = if is_break { "break" } else { "continue" };
        let r = self.next_non_space();
        if r.tok != Tok::RightDelim {
            return self.unexpected(&r, &format!("{{{{{word}}}}}"));
        }
        if self.range_depth == 0 {
            return self.err(t.start, format!("{{{{{word}}}}} outside {{{{range}}}}"));
        }
        Ok(if is_break {
            Node::Break
        } else {
            Node::Continue
        })
    }

    /// `if`, `range`, `with` after the keyword.
    fn control(&mut self, pos: usize, ctl: Ctl) -> Result<Node, TemplateError> {
        self.enter(pos)?;
        let mark = self.vars.len();
        let context = ctl.name();
        let pipe = self.pipeline(context, &Tok::RightDelim)?;
        if ctl == Ctl::Range {
            self.range_depth += 1;
        }
        let (list, end) = self.item_list()?;
        if ctl == Ctl::Range {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let ListEnd::Else(_) = end {
            let chained = match (ctl, &self.peek().tok) {
                (Ctl::If, Tok::Keyword(Kw::If)) => Some(Ctl::If),
                (Ctl::With, Tok::Keyword(Kw::With)) => Some(Ctl::With),
                _ => None,
            };
            if let Some(c) = chained {
                // `{{else if x}}` is `{{else}}{{if x}}...{{end}}` sharing the final {{end}}.
                let t = self.next();
                else_list = Some(vec![self.control(t.start, c)?]);
            } else {
                if matches!(self.peek().tok, Tok::Keyword(_)) {
                    let t = self.peek().clone();
                    return self.unexpected(&t, "else");
                }
                let (l, end2) = self.item_list()?;
                if let ListEnd::Else(p) = end2 {
                    return self.err(p, "expected end; found {{else}}");
                }
                else_list = Some(l);
            }
        }
        self.vars.truncate(mark);
        self.leave();
        let b = Branch {
            pipe,
            list,
            else_list,
        };
        Ok(match ctl {
            Ctl::If => Node::If(b),
            Ctl::Range => Node::Range(b),
            Ctl::With => Node::With(b),
        })
    }

    /// `{{template "name" pipeline}}` after the keyword.
    fn template_call(&mut self, pos: usize) -> Result<Node, TemplateError> {
        let name = self.template_name("template clause")?;
        let t = self.next_non_space();
        let pipe = if t.tok == Tok::RightDelim {
            None
        } else {
            self.backup();
            Some(self.pipeline("template clause", &Tok::RightDelim)?)
        };
        Ok(Node::Template {
            span: Span {
                start: pos,
                end: self.tok(self.i.saturating_sub(1)).end,
            },
            name,
            pipe,
        })
    }

    /// `{{block "name" pipeline}} list {{end}}`: a define plus a template call.
    fn block(&mut self, pos: usize) -> Result<Node, TemplateError> {
        let name = self.template_name("block clause")?;
        let pipe = self.pipeline("block clause", &Tok::RightDelim)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        self.vars = saved;
        self.range_depth = saved_range;
        if let ListEnd::Else(p) = end {
            return self.err(p, "unexpected {{else}} in block clause");
        }
        self.defs.insert(name.clone(), Rc::new(list));
        Ok(Node::Template {
            span: Span {
                start: pos,
                end: pipe.span.end,
            },
            name,
            pipe: Some(pipe),
        })
    }

    /// A pipeline up to `end` (`}}` or `)`), which is consumed.
    fn pipeline(&mut self, context: &str, end: &Tok) -> Result<Pipe, TemplateError> {
        let start = self.peek_non_space().start;
        let mut pipe = Pipe {
            span: Span { start, end: start },
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // Declarations.
        loop {
            let v = self.peek_non_space();
            let Tok::Variable(name) = &v.tok else { break };
            let name = name.clone();
            let save = self.i;
            self.next();
            let next = self.peek_non_space();
            match next.tok {
                Tok::Assign | Tok::Declare => {
                    pipe.is_assign = next.tok == Tok::Assign;
                    self.next_non_space();
                    if pipe.is_assign && !self.vars.contains(&name) {
                        return self.err(v.start, format!("undefined variable {name:?}"));
                    }
                    pipe.decl.push(name.clone());
                    self.vars.push(name);
                }
                Tok::Comma => {
                    self.next_non_space();
                    pipe.decl.push(name.clone());
                    self.vars.push(name);
                    if context == "range" && pipe.decl.len() < 2 {
                        let p = self.peek_non_space();
                        if matches!(p.tok, Tok::Variable(_) | Tok::RightDelim | Tok::RightParen) {
                            continue;
                        }
                        return self.err(p.start, "range can only initialize variables");
                    }
                    return self.err(v.start, format!("too many declarations in {context}"));
                }
                // A variable used as an operand: put it back.
                _ => self.i = save,
            }
            break;
        }
        loop {
            let t = self.next_non_space();
            if &t.tok == end {
                pipe.span.end = t.start;
                if pipe.cmds.is_empty() {
                    return self.err(t.start, format!("missing value for {context}"));
                }
                for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
                    if matches!(
                        c.args.first(),
                        Some(
                            Arg::Bool(..)
                                | Arg::Dot(_)
                                | Arg::Nil(_)
                                | Arg::Number(..)
                                | Arg::Str(..)
                        )
                    ) {
                        return self.err(
                            c.span.start,
                            format!("non executable command in pipeline stage {}", i + 1),
                        );
                    }
                }
                return Ok(pipe);
            }
            match t.tok {
                Tok::Bool(_)
                | Tok::Char(_)
                | Tok::Dot
                | Tok::Field(_)
                | Tok::Ident(_)
                | Tok::Number(_)
                | Tok::Nil
                | Tok::RawStr(_)
                | Tok::Str(_)
                | Tok::Variable(_)
                | Tok::LeftParen => {
                    self.backup();
                    let c = self.command()?;
                    pipe.cmds.push(c);
                }
                _ => return self.unexpected(&t, context),
            }
        }
    }

    fn command(&mut self) -> Result<Cmd, TemplateError> {
        let start = self.peek_non_space().start;
        let mut cmd = Cmd {
            span: Span { start, end: start },
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.span.end = op.span().end;
                cmd.args.push(op);
            }
            let t = self.next();
            match t.tok {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RightParen => self.backup(),
                Tok::Pipe => {}
                _ => return self.unexpected(&t, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.err(start, "empty command");
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> Result<Option<Arg>, TemplateError> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if !matches!(self.peek().tok, Tok::Field(_)) {
            return Ok(Some(node));
        }
        let mut fields = Vec::new();
        let mut end = node.span().end;
        while let Tok::Field(f) = &self.peek().tok {
            fields.push(f.clone());
            end = self.peek().end;
            self.next();
        }
        let span = Span {
            start: node.span().start,
            end,
        };
        Ok(Some(match node {
            Arg::Field(_, mut idents) => {
                idents.extend(fields);
                Arg::Field(span, idents)
            }
            Arg::Variable(_, name, mut idents) => {
                idents.extend(fields);
                Arg::Variable(span, name, idents)
            }
            Arg::Bool(..) | Arg::Str(..) | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                let text = &self.src[node.span().start..node.span().end];
                return self.err(node.span().end, format!("unexpected . after term {text:?}"));
            }
            other => Arg::Chain(span, Box::new(other), fields),
        }))
    }

    fn term(&mut self) -> Result<Option<Arg>, TemplateError> {
        let t = self.next_non_space();
        let span = Span {
            start: t.start,
            end: t.end,
        };
        let arg = match t.tok {
            Tok::Ident(name) => match funcs::lookup(&name) {
                Lookup::Found(def) => Arg::Func(span, def),
                Lookup::Unsupported => {
                    let (line, column) = line_col(self.src, t.start);
                    return Err(TemplateError::UnsupportedFunction { line, column, name });
                }
                Lookup::Undefined => {
                    let (line, column) = line_col(self.src, t.start);
                    return Err(TemplateError::UndefinedFunction { line, column, name });
                }
            },
            Tok::Dot => Arg::Dot(span),
            Tok::Nil => Arg::Nil(span),
            Tok::Variable(name) => {
                if !self.vars.contains(&name) {
                    return self.err(t.start, format!("undefined variable {name:?}"));
                }
                Arg::Variable(span, name, Vec::new())
            }
            Tok::Field(name) => Arg::Field(span, vec![name]),
            Tok::Bool(b) => Arg::Bool(span, b),
            Tok::Char(text) => {
                let n = char_value(&text).map_err(|m| parse_error(self.src, t.start, m))?;
                Arg::Number(
                    span,
                    Num {
                        text,
                        int: Some(n),
                        float: Some(n as f64),
                        float_syntax: false,
                    },
                )
            }
            Tok::Number(text) => {
                let n = parse_number(&text).map_err(|m| parse_error(self.src, t.start, m))?;
                Arg::Number(span, n)
            }
            Tok::Str(q) | Tok::RawStr(q) => {
                let b = unquote(&q).map_err(|m| parse_error(self.src, t.start, m))?;
                Arg::Str(span, b)
            }
            Tok::LeftParen => {
                self.enter(t.start)?;
                let pipe = self.pipeline("parenthesized pipeline", &Tok::RightParen)?;
                self.leave();
                let end = self.tok(self.i.saturating_sub(1)).end;
                Arg::Pipe(
                    Span {
                        start: t.start,
                        end,
                    },
                    Box::new(pipe),
                )
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        };
        Ok(Some(arg))
    }
}

enum Item {
    Node(Node),
    End(usize),
    Else(usize),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctl {
    If,
    Range,
    With,
}

impl Ctl {
    fn name(self) -> &'static str {
        match self {
            Ctl::If => "if",
            Ctl::Range => "range",
            Ctl::With => "with",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perr(src: &str) -> String {
        match parse(src) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parse_errors() {
        assert!(perr("{{ end }}").contains("unexpected {{end}}"));
        assert!(perr("{{ if .x }}").contains("unexpected EOF"));
        assert!(perr("{{ $x }}").contains("undefined variable \"$x\""));
        assert!(perr("{{ env \"HOME\" }}").contains("function \"env\" not defined"));
        assert!(perr("{{ genCA \"x\" 1 }}").contains("not supported"));
        assert!(perr("{{ break }}").contains("outside {{range}}"));
        assert!(perr("{{ }}").contains("missing value for command"));
        assert!(perr("{{ .x | 3 }}").contains("non executable command in pipeline stage 2"));
        assert!(perr("{{ \"a\".x }}").contains("unexpected . after term"));
        assert!(perr("{{ 3.x }}").contains("bad number syntax"));
        assert!(perr("{{ range $a, $b, $c := . }}{{end}}").contains("too many declarations"));
        assert!(perr("{{ if 1 }}{{ else }}{{ else }}{{ end }}").contains("expected end"));
        assert!(perr("{{ define \"a\" }}").contains("unexpected EOF"));
        assert!(perr("x\n  {{ nope }}").starts_with("template: 2:6:"));
    }

    #[test]
    fn parses_constructs() {
        for ok in [
            "{{ if .a }}x{{ else if .b }}y{{ else }}z{{ end }}",
            "{{ with $x := .a }}{{ $x }}{{ else with .b }}{{ . }}{{ end }}",
            "{{ range $i, $e := . }}{{ $i }}{{ break }}{{ continue }}{{ end }}",
            "{{ define \"t\" }}{{ . }}{{ end }}{{ template \"t\" .a }}",
            "{{ block \"b\" . }}x{{ end }}",
            "{{ $x := 1 }}{{ $x = 2 }}{{ (list 1 2).foo }}",
            "{{ .a | printf \"%s\" | upper }}",
        ] {
            assert!(parse(ok).is_ok(), "{ok}: {}", perr(ok));
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "{{ ".to_string()
            + &"(".repeat(MAX_DEPTH + 5)
            + "1"
            + &")".repeat(MAX_DEPTH + 5)
            + " }}";
        assert!(perr(&deep).contains("nesting depth"));
        let ifs = "{{ if 1 }}".repeat(MAX_DEPTH + 5) + &"{{ end }}".repeat(MAX_DEPTH + 5);
        assert!(perr(&ifs).contains("nesting depth"));
    }
}
