//! Executes a parsed template against the data, with Go `text/template` semantics: the default
//! `missingkey` mode (`.missing` is `<no value>`), Go's argument checks, lazy `and`/`or`, variable
//! scoping, `range` over lists, maps and ints, and `break`/`continue`.
//!
//! Every step is charged to a budget and nesting is bounded, so no template can hang or overflow
//! the stack; the output buffer is zeroized, including when it grows.

use zeroize::Zeroizing;

use super::error::TemplateError;
use super::fmt::{Buf, write_v};
use super::funcs::{Ctx, Fail, FuncDef, Imp, MAX_DEPTH, MAX_OUTPUT, MAX_VALUE_BYTES, P};
use super::literal::Num;
use super::parse::{Arg, Branch, Cmd, Node, Pipe, Span, Tree, line_col};
use super::value::{Elem, Value};

/// What a list of nodes asks of the enclosing `range`.
#[derive(PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

/// The output, zeroized on drop and when it is reallocated.
struct Out {
    buf: Zeroizing<Vec<u8>>,
    /// The most this render may write: [`MAX_OUTPUT`], or less if the session has spent part of
    /// its output budget.
    max: usize,
}

impl Out {
    fn push(&mut self, b: &[u8]) -> Result<(), Fail> {
        let need = self.buf.len().saturating_add(b.len());
        if need > self.max {
            return Err(Fail::Limit("output size", self.max));
        }
        if need > self.buf.capacity() {
            let cap = need
                .max(self.buf.capacity().saturating_mul(2))
                .clamp(256, self.max.max(1));
            let mut bigger = Zeroizing::new(Vec::with_capacity(cap));
            bigger.extend_from_slice(&self.buf);
            // The old buffer is zeroized as it is dropped here.
            self.buf = bigger;
        }
        self.buf.extend_from_slice(b);
        Ok(())
    }
}

struct State<'a> {
    src: &'a str,
    tree: &'a Tree,
    vars: Vec<(String, Value)>,
    out: Out,
    ctx: &'a mut Ctx,
    depth: usize,
}

/// Runs the template with `data` as `.` and `$`.
pub(crate) fn execute(
    src: &str,
    tree: &Tree,
    data: Value,
    ctx: &mut Ctx,
) -> Result<Zeroizing<Vec<u8>>, TemplateError> {
    let max = MAX_OUTPUT.min(ctx.budget().output_left());
    let mut st = State {
        src,
        tree,
        vars: vec![("$".to_string(), data.clone())],
        out: Out {
            buf: Zeroizing::new(Vec::new()),
            max,
        },
        ctx,
        depth: 0,
    };
    st.walk(&data, &tree.root)?;
    let out = std::mem::replace(&mut st.out.buf, Zeroizing::new(Vec::new()));
    st.ctx.budget().spend_output(out.len());
    Ok(out)
}

/// The error for a limit hit before execution starts (located at the template's start).
pub(crate) fn limit_error(src: &str, f: Fail) -> TemplateError {
    let (line, column) = line_col(src, 0);
    match f {
        Fail::Limit(limit, max) => TemplateError::LimitExceeded {
            line,
            column,
            limit,
            max,
        },
        Fail::Exec(message) | Fail::Func(message) => TemplateError::Execute {
            line,
            column,
            action: String::new(),
            message,
        },
    }
}

impl State<'_> {
    /// Turns an internal failure into the public error, located at `span`.
    fn fail(&self, span: Span, f: Fail) -> TemplateError {
        let (line, column) = line_col(self.src, span.start);
        match f {
            Fail::Exec(message) | Fail::Func(message) => TemplateError::Execute {
                line,
                column,
                action: self.snippet(span),
                message,
            },
            Fail::Limit(limit, max) => TemplateError::LimitExceeded {
                line,
                column,
                limit,
                max,
            },
        }
    }

    fn exec_err<T>(&self, span: Span, message: impl Into<String>) -> Result<T, TemplateError> {
        Err(self.fail(span, Fail::Exec(message.into())))
    }

    /// The template text of a node, shortened for messages.
    fn snippet(&self, span: Span) -> String {
        let text = self
            .src
            .get(span.start..span.end.max(span.start))
            .unwrap_or("");
        let mut s: String = text.chars().take(60).collect();
        if text.chars().count() > 60 {
            s.push_str("...");
        }
        s
    }

    fn charge(&mut self, span: Span, n: usize) -> Result<(), TemplateError> {
        self.ctx.charge(n).map_err(|f| self.fail(span, f))
    }

    fn enter(&mut self, span: Span) -> Result<(), TemplateError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.fail(span, Fail::Limit("nesting depth", MAX_DEPTH)));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn write(&mut self, span: Span, b: &[u8]) -> Result<(), TemplateError> {
        self.ctx
            .charge_bytes(b.len())
            .and_then(|()| self.out.push(b))
            .map_err(|f| self.fail(span, f))
    }

    fn walk(&mut self, dot: &Value, nodes: &[Node]) -> Result<Flow, TemplateError> {
        for node in nodes {
            match node {
                Node::Text(pos, text) => {
                    let span = Span {
                        start: *pos,
                        end: *pos,
                    };
                    self.charge(span, 1)?;
                    self.write(span, text.as_bytes())?;
                }
                Node::Action(pipe) => {
                    self.charge(pipe.span, 1)?;
                    let v = self.eval_pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        self.print(pipe.span, &v)?;
                    }
                }
                Node::If(b) => {
                    let f = self.walk_if_with(dot, b, false)?;
                    if f != Flow::Normal {
                        return Ok(f);
                    }
                }
                Node::With(b) => {
                    let f = self.walk_if_with(dot, b, true)?;
                    if f != Flow::Normal {
                        return Ok(f);
                    }
                }
                Node::Range(b) => self.walk_range(dot, b)?,
                Node::Template { span, name, pipe } => {
                    self.walk_template(dot, *span, name, pipe.as_ref())?
                }
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Normal)
    }

    /// Prints an action's value as Go does: a missing value is `<no value>`.
    fn print(&mut self, span: Span, v: &Value) -> Result<(), TemplateError> {
        match v {
            Value::Nil => self.write(span, b"<no value>"),
            Value::Str(s) => self.write(span, &s.0),
            other => {
                let mut b = Buf::new();
                write_v(&mut b, other).map_err(|f| self.fail(span, f))?;
                let b = Zeroizing::new(b.b);
                self.write(span, &b)
            }
        }
    }

    fn walk_nested(
        &mut self,
        span: Span,
        dot: &Value,
        list: &[Node],
    ) -> Result<Flow, TemplateError> {
        self.enter(span)?;
        let r = self.walk(dot, list);
        self.leave();
        r
    }

    fn walk_if_with(&mut self, dot: &Value, b: &Branch, with: bool) -> Result<Flow, TemplateError> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let span = b.pipe.span;
        let r = if val.truth() {
            let d = if with { &val } else { dot };
            self.walk_nested(span, d, &b.list)
        } else if let Some(e) = &b.else_list {
            self.walk_nested(span, dot, e)
        } else {
            Ok(Flow::Normal)
        };
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Value, b: &Branch) -> Result<(), TemplateError> {
        let mark = self.vars.len();
        let r = self.range_inner(dot, b);
        self.vars.truncate(mark);
        r
    }

    fn range_inner(&mut self, dot: &Value, b: &Branch) -> Result<(), TemplateError> {
        let span = b.pipe.span;
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let mut any = false;
        match &val {
            Value::List(l) => {
                for (i, e) in l.items.iter().enumerate() {
                    any = true;
                    if self.iteration(b, Value::Int(i as i64), e.clone())? == Flow::Break {
                        break;
                    }
                }
            }
            Value::Map(m) => {
                let items: Vec<(String, Value)> = m
                    .entries
                    .borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                for (k, e) in items {
                    any = true;
                    if self.iteration(b, Value::str(k), e)? == Flow::Break {
                        break;
                    }
                }
            }
            Value::Int(n) | Value::Int64(n) => {
                if b.pipe.decl.len() > 1 {
                    return self.exec_err(
                        span,
                        "can't use an int to iterate over more than one variable",
                    );
                }
                let int64 = matches!(val, Value::Int64(_));
                for i in 0..*n {
                    any = true;
                    let v = if int64 {
                        Value::Int64(i)
                    } else {
                        Value::Int(i)
                    };
                    if self.iteration(b, v.clone(), v)? == Flow::Break {
                        break;
                    }
                }
            }
            Value::Nil => {}
            other => {
                return self.exec_err(
                    span,
                    format!(
                        "range can't iterate over a value of type {}",
                        other.type_name()
                    ),
                );
            }
        }
        if !any && let Some(e) = &b.else_list {
            self.walk_nested(span, dot, e)?;
        }
        Ok(())
    }

    fn iteration(&mut self, b: &Branch, index: Value, elem: Value) -> Result<Flow, TemplateError> {
        let span = b.pipe.span;
        self.charge(span, 1)?;
        let decl = &b.pipe.decl;
        let n = self.vars.len();
        if !decl.is_empty() {
            if b.pipe.is_assign {
                let v = if decl.len() > 1 {
                    index.clone()
                } else {
                    elem.clone()
                };
                self.set_var(span, &decl[0], v)?;
            } else if let Some(top) = self.vars.get_mut(n - 1) {
                top.1 = elem.clone();
            }
        }
        if decl.len() > 1 {
            if b.pipe.is_assign {
                self.set_var(span, &decl[1], elem.clone())?;
            } else if let Some(second) = self.vars.get_mut(n - 2) {
                second.1 = index;
            }
        }
        let mark = self.vars.len();
        let r = self.walk_nested(span, &elem, &b.list);
        self.vars.truncate(mark);
        r
    }

    fn walk_template(
        &mut self,
        dot: &Value,
        span: Span,
        name: &str,
        pipe: Option<&Pipe>,
    ) -> Result<(), TemplateError> {
        let Some(body) = self.tree.defs.get(name).cloned() else {
            return self.exec_err(span, format!("no such template {name:?}"));
        };
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Value::Nil,
        };
        self.enter(span)?;
        let saved = std::mem::replace(&mut self.vars, vec![("$".to_string(), new_dot.clone())]);
        let r = self.walk(&new_dot, &body);
        self.vars = saved;
        self.leave();
        r.map(|_| ())
    }

    fn var(&self, span: Span, name: &str) -> Result<Value, TemplateError> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => self.exec_err(span, format!("undefined variable: {name}")),
        }
    }

    fn set_var(&mut self, span: Span, name: &str, v: Value) -> Result<(), TemplateError> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = v;
                Ok(())
            }
            None => self.exec_err(span, format!("undefined variable: {name}")),
        }
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &Pipe) -> Result<Value, TemplateError> {
        let mut val: Option<Value> = None;
        for cmd in &pipe.cmds {
            val = Some(self.eval_command(dot, cmd, val)?);
        }
        let v = val.unwrap_or(Value::Nil);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(pipe.span, name, v.clone())?;
            } else {
                self.vars.push((name.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn not_a_function(&self, cmd: &Cmd, fin: &Option<Value>) -> Result<(), TemplateError> {
        if cmd.args.len() > 1 || fin.is_some() {
            let first = cmd.args.first().map_or(cmd.span, Arg::span);
            return self.exec_err(
                cmd.span,
                format!(
                    "can't give argument to non-function {}",
                    self.snippet(first)
                ),
            );
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        dot: &Value,
        cmd: &Cmd,
        fin: Option<Value>,
    ) -> Result<Value, TemplateError> {
        let Some(first) = cmd.args.first() else {
            return self.exec_err(cmd.span, "empty command");
        };
        let has_args = cmd.args.len() > 1 || fin.is_some();
        match first {
            Arg::Field(span, idents) => {
                return self.field_chain(*span, dot.clone(), idents, has_args);
            }
            Arg::Chain(span, node, fields) => {
                let recv = self.eval_arg(dot, P::Any, node)?;
                return self.field_chain(*span, recv, fields, has_args);
            }
            Arg::Func(span, def) => return self.eval_call(dot, def, *span, &cmd.args[1..], fin),
            Arg::Pipe(_, p) => {
                self.not_a_function(cmd, &fin)?;
                return self.eval_nested_pipeline(dot, p);
            }
            Arg::Variable(span, name, idents) => {
                let v = self.var(*span, name)?;
                if idents.is_empty() {
                    self.not_a_function(cmd, &fin)?;
                    return Ok(v);
                }
                return self.field_chain(*span, v, idents, has_args);
            }
            _ => {}
        }
        self.not_a_function(cmd, &fin)?;
        match first {
            Arg::Bool(_, b) => Ok(Value::Bool(*b)),
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(span) => self.exec_err(*span, "nil is not a command"),
            Arg::Number(span, n) => self.ideal_constant(*span, n),
            Arg::Str(_, s) => Ok(Value::bytes(s.clone())),
            _ => self.exec_err(cmd.span, "can't evaluate command"),
        }
    }

    fn eval_nested_pipeline(&mut self, dot: &Value, p: &Pipe) -> Result<Value, TemplateError> {
        self.enter(p.span)?;
        let mark = self.vars.len();
        let r = self.eval_pipeline(dot, p);
        // Variables declared inside parentheses stay visible in Go; keep them.
        let _ = mark;
        self.leave();
        r
    }

    /// A number literal as an `interface{}`: float64 if written as a float, else int.
    fn ideal_constant(&self, span: Span, n: &Num) -> Result<Value, TemplateError> {
        if n.float_syntax
            && let Some(f) = n.float
        {
            return Ok(Value::Float(f));
        }
        match n.int {
            Some(i) => Ok(Value::Int(i)),
            None => self.exec_err(span, format!("{} overflows int", n.text)),
        }
    }

    fn field_chain(
        &mut self,
        span: Span,
        mut recv: Value,
        idents: &[String],
        has_args: bool,
    ) -> Result<Value, TemplateError> {
        for (i, name) in idents.iter().enumerate() {
            let last = i + 1 == idents.len();
            recv = self.field(span, recv, name, last && has_args)?;
        }
        Ok(recv)
    }

    fn field(
        &mut self,
        span: Span,
        recv: Value,
        name: &str,
        has_args: bool,
    ) -> Result<Value, TemplateError> {
        match recv {
            // Go's default missingkey mode: a field of a missing value is missing too.
            Value::Nil => Ok(Value::Nil),
            Value::Map(m) => {
                if has_args {
                    return self
                        .exec_err(span, format!("{name} is not a method but has arguments"));
                }
                Ok(m.entries.borrow().get(name).cloned().unwrap_or(Value::Nil))
            }
            other => self.exec_err(
                span,
                format!("can't evaluate field {name} in type {}", other.type_name()),
            ),
        }
    }

    /// Evaluates an argument for a parameter of type `p`, checking it the way Go's `evalArg` does.
    fn eval_arg(&mut self, dot: &Value, p: P, arg: &Arg) -> Result<Value, TemplateError> {
        let span = arg.span();
        let v = match arg {
            Arg::Dot(_) => dot.clone(),
            Arg::Nil(_) => {
                if matches!(p, P::Any | P::Map) {
                    return Ok(Value::Nil);
                }
                return self.exec_err(span, format!("cannot assign nil to {}", p.go_name()));
            }
            Arg::Field(_, idents) => self.field_chain(span, dot.clone(), idents, false)?,
            Arg::Variable(_, name, idents) => {
                let v = self.var(span, name)?;
                self.field_chain(span, v, idents, false)?
            }
            Arg::Pipe(_, pipe) => self.eval_nested_pipeline(dot, pipe)?,
            Arg::Func(_, def) => self.eval_call(dot, def, span, &[], None)?,
            Arg::Chain(_, node, fields) => {
                let recv = self.eval_arg(dot, P::Any, node)?;
                self.field_chain(span, recv, fields, false)?
            }
            Arg::Bool(_, b) => {
                return match p {
                    P::Bool | P::Any => Ok(Value::Bool(*b)),
                    _ => self.literal_mismatch(span, p),
                };
            }
            Arg::Str(_, s) => {
                return match p {
                    P::Str | P::Any => Ok(Value::bytes(s.clone())),
                    _ => self.literal_mismatch(span, p),
                };
            }
            Arg::Number(_, n) => {
                return match p {
                    P::Int => match n.int {
                        Some(i) if !n.float_syntax || n.float.is_some_and(|f| f.fract() == 0.0) => {
                            Ok(Value::Int(i))
                        }
                        _ => self.exec_err(span, format!("expected integer; found {}", n.text)),
                    },
                    P::Float => match n.float {
                        Some(f) => Ok(Value::Float(f)),
                        None => self.exec_err(span, format!("expected float; found {}", n.text)),
                    },
                    P::Any => self.ideal_constant(span, n),
                    _ => self.literal_mismatch(span, p),
                };
            }
        };
        self.validate(span, v, p)
    }

    fn literal_mismatch<T>(&self, span: Span, p: P) -> Result<T, TemplateError> {
        let found = self.snippet(span);
        match p {
            P::Str => self.exec_err(span, format!("expected string; found {found}")),
            P::Int => self.exec_err(span, format!("expected integer; found {found}")),
            P::Float => self.exec_err(span, format!("expected float; found {found}")),
            P::Bool => self.exec_err(span, format!("expected bool; found {found}")),
            _ => self.exec_err(
                span,
                format!("can't handle {found} for arg of type {}", p.go_name()),
            ),
        }
    }

    /// Checks that a computed value fits the parameter type (Go's `validateType`).
    fn validate(&self, span: Span, v: Value, p: P) -> Result<Value, TemplateError> {
        let ok = match (&v, p) {
            (_, P::Any) => true,
            (Value::Nil, P::Map) => true,
            (Value::Nil, _) => {
                return self.exec_err(span, format!("invalid value; expected {}", p.go_name()));
            }
            (Value::Str(_), P::Str) | (Value::Int(_), P::Int) | (Value::Float(_), P::Float) => true,
            (Value::Bool(_), P::Bool) | (Value::Time(_), P::Time) => true,
            (Value::Map(m), P::Map) => m.elem != Elem::Str,
            _ => false,
        };
        if ok {
            Ok(v)
        } else {
            self.exec_err(
                span,
                format!(
                    "wrong type for value; expected {}; got {}",
                    p.go_name(),
                    v.type_name()
                ),
            )
        }
    }

    fn eval_call(
        &mut self,
        dot: &Value,
        def: &FuncDef,
        span: Span,
        args: &[Arg],
        fin: Option<Value>,
    ) -> Result<Value, TemplateError> {
        self.charge(span, 1)?;
        let n = args.len() + usize::from(fin.is_some());
        let call_span = Span {
            start: span.start,
            end: args.last().map_or(span.end, |a| a.span().end),
        };
        let want = def.params.len();
        if def.variadic.is_some() && n < want {
            return self.exec_err(
                call_span,
                format!(
                    "wrong number of args for {}: want at least {want} got {n}",
                    def.name
                ),
            );
        }
        if def.variadic.is_none() && n != want {
            return self.exec_err(
                call_span,
                format!("wrong number of args for {}: want {want} got {n}", def.name),
            );
        }
        let native = match def.imp {
            Imp::And | Imp::Or => {
                let is_or = matches!(def.imp, Imp::Or);
                let mut v = Value::Nil;
                for a in args {
                    v = self.eval_arg(dot, P::Any, a)?;
                    if v.truth() == is_or {
                        return Ok(v);
                    }
                }
                if let Some(f) = fin {
                    v = f;
                }
                return Ok(v);
            }
            Imp::Native(f) => f,
        };
        let mut argv = Vec::with_capacity(n);
        for (i, a) in args.iter().enumerate() {
            argv.push(self.eval_arg(dot, def.param(i), a)?);
        }
        if let Some(f) = fin {
            argv.push(self.validate(span, f, def.param(n - 1))?);
        }
        // Work on large values costs steps in proportion to their size (the arguments now, the
        // result below), so the step budget bounds the CPU time of any sequence of calls.
        let read: usize = argv.iter().map(Value::shallow_size).sum();
        self.ctx
            .charge_bytes(read)
            .map_err(|f| self.fail(call_span, f))?;
        let result = native(self.ctx, argv).map_err(|f| match f {
            Fail::Func(message) => {
                let (line, column) = line_col(self.src, call_span.start);
                TemplateError::Function {
                    line,
                    column,
                    action: self.snippet(call_span),
                    function: def.name.to_string(),
                    message,
                }
            }
            other => self.fail(call_span, other),
        })?;
        if let Value::Str(s) = &result {
            if s.0.len() > MAX_VALUE_BYTES {
                return Err(self.fail(call_span, Fail::Limit("value size", MAX_VALUE_BYTES)));
            }
            self.ctx
                .account(s.0.len())
                .and_then(|()| self.ctx.charge_bytes(s.0.len()))
                .map_err(|f| self.fail(call_span, f))?;
        }
        Ok(result)
    }
}
