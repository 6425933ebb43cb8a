//! Parsing the options of `#[step(...)]` and `#[helper(...)]`.
//!
//! Every mistake is reported at its own span and parsing goes on, so one compile shows them all.

use std::collections::BTreeSet;

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitStr, Token, token};

use crate::diag::{Errors, did_you_mean};

/// Which attribute is being parsed: decides the accepted options and the wording of errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacroKind {
    /// `#[step]`
    Step,
    /// `#[helper]`
    Helper,
}

impl MacroKind {
    /// The attribute as users write it.
    pub fn attr(self) -> &'static str {
        match self {
            MacroKind::Step => "#[step]",
            MacroKind::Helper => "#[helper]",
        }
    }

    /// The options this attribute accepts.
    pub fn known(self) -> &'static [&'static str] {
        match self {
            MacroKind::Step => STEP_OPTIONS,
            MacroKind::Helper => HELPER_OPTIONS,
        }
    }
}

/// All `#[step]` options, in the order the docs list them.
pub const STEP_OPTIONS: &[&str] =
    &["name", "version", "deps", "cache", "retries", "backoff", "timeout", "cpu", "memory", "crate"];
/// All `#[helper]` options.
pub const HELPER_OPTIONS: &[&str] = &["deps", "crate"];

/// Nanoseconds in one millisecond.
const MS: u64 = 1_000_000;
/// The default `backoff`, as `StepOptions::DEFAULT` has it.
pub const DEFAULT_BACKOFF_NANOS: u64 = 100 * MS;

/// The parsed options; `None` / empty for an option that was not given (or was invalid).
#[derive(Default)]
pub struct Options {
    /// `name = "..."`
    pub name: Option<LitStr>,
    /// `version = N`
    pub version: Option<u32>,
    /// `deps = [path, ...]`
    pub deps: Vec<syn::Path>,
    /// `cache = bool`
    pub cache: Option<bool>,
    /// `retries = N`
    pub retries: Option<u32>,
    /// `backoff = "..."`, in nanoseconds.
    pub backoff: Option<u64>,
    /// `timeout = "..."`, in nanoseconds.
    pub timeout: Option<u64>,
    /// `cpu = "500m"` or `cpu = 2`, in millicores.
    pub cpu: Option<u32>,
    /// `memory = "512Mi"`, in bytes.
    pub memory: Option<u64>,
    /// `crate = path`: where the generated code finds the runtime (`path::__private`).
    pub krate: Option<syn::Path>,
}

/// Parses the attribute's arguments. Errors go to `errors`; the options that were valid are
/// still returned, so the caller can report further mistakes (in the signature, say) too.
pub fn parse(attr: TokenStream, kind: MacroKind, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    let args = match Punctuated::<Arg, Token![,]>::parse_terminated.parse2(attr) {
        Ok(args) => args,
        Err(error) => {
            let known = kind.known().iter().map(|k| format!("{k} = ...")).collect::<Vec<_>>();
            errors.push(syn::Error::new(
                error.span(),
                format!("invalid {} options: {error}; write them as `{}`", kind.attr(), known.join(", ")),
            ));
            return options;
        }
    };
    let mut seen = BTreeSet::new();
    for arg in args {
        let Some(key) = arg.path.get_ident().map(ToString::to_string) else {
            unknown(&arg.path, &arg.path.to_token_stream().to_string().replace(' ', ""), kind, errors);
            continue;
        };
        if !kind.known().contains(&key.as_str()) {
            unknown(&arg.path, &key, kind, errors);
            continue;
        }
        if !seen.insert(key.clone()) {
            errors.spanned(
                &arg.path,
                format!(
                    "duplicate {} option `{key}`: it is already set earlier in this attribute; keep only one",
                    kind.attr()
                ),
            );
            continue;
        }
        if key == "crate"
            && let ArgValue::Value { raw, .. } = &arg.value
        {
            options.krate = parse_crate(raw, kind, errors);
            continue;
        }
        let (value, raw) = match arg.value {
            ArgValue::Value { expr, raw } => match *expr {
                Ok(expr) => (expr, raw),
                Err(error) => {
                    errors.spanned(
                        &raw,
                        format!(
                            "invalid value for {} option `{key}` ({error}): write `{key} = {}`",
                            kind.attr(),
                            example(&key)
                        ),
                    );
                    continue;
                }
            },
            ArgValue::Missing => {
                errors.spanned(
                    &arg.path,
                    format!(
                        "{} option `{key}` needs a value: write `{key} = {}`",
                        kind.attr(),
                        example(&key)
                    ),
                );
                continue;
            }
            ArgValue::List => {
                errors.spanned(
                    &arg.path,
                    format!(
                        "{} option `{key}` is written with `=`: `{key} = {}`",
                        kind.attr(),
                        example(&key)
                    ),
                );
                continue;
            }
        };
        let (value, raw) = (&value, &raw);
        match key.as_str() {
            "name" => options.name = parse_name(value, raw, errors),
            "version" => options.version = parse_u32(value, raw, &key, errors),
            "deps" => options.deps = parse_deps(value, raw, kind, errors),
            "cache" => options.cache = parse_bool(value, raw, &key, errors),
            "retries" => options.retries = parse_u32(value, raw, &key, errors),
            "backoff" => options.backoff = parse_duration_option(value, raw, &key, false, errors),
            "timeout" => options.timeout = parse_duration_option(value, raw, &key, true, errors),
            "cpu" => options.cpu = parse_cpu_option(value, raw, errors),
            "memory" => options.memory = parse_memory_option(value, raw, errors),
            _ => unreachable!("every known option is handled"),
        }
    }
    options
}

/// One argument of the attribute: `key = value`, or a malformed `key` or `key(...)`.
struct Arg {
    path: syn::Path,
    value: ArgValue,
}

enum ArgValue {
    /// `key = value`: the value's tokens as written (for spans) and parsed.
    Value { raw: TokenStream, expr: Box<syn::Result<Expr>> },
    /// Just `key`.
    Missing,
    /// `key(...)`.
    List,
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let path = input.call(syn::Path::parse_mod_style)?;
        let value = if input.peek(Token![=]) {
            let eq: Token![=] = input.parse()?;
            let mut raw = TokenStream::new();
            while !input.is_empty() && !input.peek(Token![,]) {
                raw.extend([input.parse::<TokenTree>()?]);
            }
            if raw.is_empty() {
                return Err(syn::Error::new(eq.span, "expected a value after `=`"));
            }
            let expr = Box::new(syn::parse2::<Expr>(raw.clone()));
            ArgValue::Value { raw, expr }
        } else if input.peek(token::Paren) || input.peek(token::Bracket) || input.peek(token::Brace) {
            input.parse::<TokenTree>()?;
            ArgValue::List
        } else {
            ArgValue::Missing
        };
        Ok(Arg { path, value })
    }
}

/// An example value for `key`, for error messages.
fn example(key: &str) -> &'static str {
    match key {
        "name" => "\"my_step\"",
        "version" => "2",
        "deps" => "[helper_fn, other::helper_fn]",
        "cache" => "false",
        "retries" => "3",
        "backoff" => "\"250ms\"",
        "timeout" => "\"30s\"",
        "cpu" => "\"500m\"",
        "memory" => "\"512Mi\"",
        "crate" => "my_crate::mlflow",
        _ => "...",
    }
}

fn unknown(path: &syn::Path, key: &str, kind: MacroKind, errors: &mut Errors) {
    let known = kind.known();
    let mut message = format!("unknown {} option `{key}`", kind.attr());
    if let Some(suggestion) = did_you_mean(key, known) {
        message += &format!(" (did you mean `{suggestion}`?)");
    }
    if kind == MacroKind::Helper && STEP_OPTIONS.contains(&key) {
        message += &format!(
            "; `{key}` is a #[step] option, a #[helper] only takes `deps = [...]` and `crate = path`"
        );
    } else {
        let list = known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>();
        message += &format!("; the options are {}", list.join(", "));
    }
    errors.spanned(path, message);
}

/// The literal of `expr`, looking through invisible groups (from `macro_rules!` fragments).
fn literal(expr: &Expr) -> Option<&Lit> {
    match expr {
        Expr::Lit(ExprLit { lit, .. }) => Some(lit),
        Expr::Group(group) => literal(&group.expr),
        _ => None,
    }
}

/// What kind of value `expr` is, for "expected X, found Y" messages.
fn describe(expr: &Expr) -> &'static str {
    match literal(expr) {
        Some(Lit::Str(_)) => "a string",
        Some(Lit::Int(_)) => "an integer",
        Some(Lit::Float(_)) => "a float",
        Some(Lit::Bool(_)) => "a bool",
        Some(_) => "a literal of another kind",
        None => match expr {
            Expr::Unary(syn::ExprUnary { op: syn::UnOp::Neg(_), .. }) => "a negative number",
            Expr::Path(_) => "a path",
            Expr::Array(_) => "a list",
            _ => "an expression",
        },
    }
}

fn parse_name(value: &Expr, raw: &TokenStream, errors: &mut Errors) -> Option<LitStr> {
    match literal(value) {
        Some(Lit::Str(name)) if name.value().trim().is_empty() => {
            errors.spanned(name, "#[step] option `name` must not be empty: write `name = \"my_step\"` or leave it out to use the function's name");
            None
        }
        Some(Lit::Str(name)) => Some(name.clone()),
        _ => {
            errors.spanned(
                raw,
                format!(
                    "#[step] option `name` takes a string, found {}: write `name = \"my_step\"`",
                    describe(value)
                ),
            );
            None
        }
    }
}

fn parse_u32(value: &Expr, raw: &TokenStream, key: &str, errors: &mut Errors) -> Option<u32> {
    let what = if key == "version" { "the step's version" } else { "the number of retries" };
    let expected = format!("#[step] option `{key}` takes a non-negative integer ({what}, a `u32`)");
    match literal(value) {
        Some(Lit::Int(int)) if int.base10_digits().starts_with('-') => {
            errors.spanned(
                raw,
                format!("{expected}, found a negative number: write `{key} = {}`", example(key)),
            );
            None
        }
        Some(Lit::Int(int)) => {
            if !matches!(int.suffix(), "" | "u32") {
                errors.spanned(
                    int,
                    format!(
                        "{expected}, found a `{}` literal: write `{key} = {}`",
                        int.suffix(),
                        int.base10_digits()
                    ),
                );
                return None;
            }
            match int.base10_parse::<u32>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.spanned(
                        int,
                        format!(
                            "{expected}, and {} does not fit in a u32 (at most {})",
                            int.base10_digits(),
                            u32::MAX
                        ),
                    );
                    None
                }
            }
        }
        Some(Lit::Str(s)) if s.value().trim().parse::<u32>().is_ok() => {
            errors.spanned(
                s,
                format!("{expected}, found a string: write `{key} = {}` without quotes", s.value().trim()),
            );
            None
        }
        _ => {
            errors.spanned(
                raw,
                format!("{expected}, found {}: write `{key} = {}`", describe(value), example(key)),
            );
            None
        }
    }
}

fn parse_bool(value: &Expr, raw: &TokenStream, key: &str, errors: &mut Errors) -> Option<bool> {
    match literal(value) {
        Some(Lit::Bool(b)) => Some(b.value),
        Some(Lit::Str(s)) if matches!(s.value().as_str(), "true" | "false") => {
            errors.spanned(
                s,
                format!(
                    "#[step] option `{key}` takes a bool, found a string: write `{key} = {}` without quotes",
                    s.value()
                ),
            );
            None
        }
        _ => {
            errors.spanned(
                raw,
                format!(
                    "#[step] option `{key}` takes a bool, found {}: write `{key} = true` or `{key} = false`",
                    describe(value)
                ),
            );
            None
        }
    }
}

fn parse_deps(value: &Expr, raw: &TokenStream, kind: MacroKind, errors: &mut Errors) -> Vec<syn::Path> {
    let hint = "write `deps = [helper_fn, other::helper_fn]`, naming functions marked #[helper]";
    let elems = match value {
        Expr::Array(array) => &array.elems,
        Expr::Path(p) if p.qself.is_none() => {
            let path = p.path.to_token_stream().to_string().replace(' ', "");
            errors.spanned(
                raw,
                format!("{} option `deps` takes a list in brackets: write `deps = [{path}]`", kind.attr()),
            );
            return Vec::new();
        }
        _ => {
            errors.spanned(
                raw,
                format!(
                    "{} option `deps` takes a list of paths, found {}: {hint}",
                    kind.attr(),
                    describe(value)
                ),
            );
            return Vec::new();
        }
    };
    let mut deps: Vec<syn::Path> = Vec::new();
    let mut seen = BTreeSet::new();
    for elem in elems {
        match elem {
            Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => {
                let text = p.path.to_token_stream().to_string().replace(' ', "");
                if p.path.segments.iter().any(|s| !s.arguments.is_none()) {
                    errors.spanned(
                        &p.path,
                        format!("`{text}`: each entry of `deps` is the plain path of a #[helper] function, without generic arguments"),
                    );
                    continue;
                }
                if !seen.insert(text.clone()) {
                    errors.spanned(
                        &p.path,
                        format!("`{text}` is listed twice in `deps`: list each helper once"),
                    );
                    continue;
                }
                deps.push(p.path.clone());
            }
            other => errors.spanned(
                other,
                format!(
                    "each entry of `deps` must be the path of a function marked #[helper], found {}: {hint}",
                    describe(other)
                ),
            ),
        }
    }
    deps
}

/// `crate = path`: the path of the `mlflow` crate (or of a module re-exporting it), without
/// generic arguments. Parsed from the raw tokens, so that `crate = crate` and `crate = self::x`
/// are paths too.
fn parse_crate(raw: &TokenStream, kind: MacroKind, errors: &mut Errors) -> Option<syn::Path> {
    let hint = "write the path of the `mlflow` crate as the generated code should name it, e.g. `crate = mlflow_core` or `crate = my_crate::mlflow` for a crate re-exporting mlflow";
    if let Ok(path) = syn::Path::parse_mod_style.parse2(raw.clone()) {
        return Some(path);
    }
    let found = match syn::parse2::<Expr>(raw.clone()) {
        Ok(Expr::Lit(ExprLit { lit: Lit::Str(s), .. }))
            if syn::Path::parse_mod_style.parse_str(&s.value()).is_ok() =>
        {
            errors.spanned(
                raw,
                format!(
                    "{} option `crate` takes a path, found a string: write `crate = {}` without quotes",
                    kind.attr(),
                    s.value()
                ),
            );
            return None;
        }
        Ok(expr @ Expr::Path(_)) => {
            format!(
                "`{}`, a path with generic arguments",
                expr.to_token_stream().to_string().replace(' ', "")
            )
        }
        Ok(expr) => describe(&expr).to_owned(),
        Err(_) => "something that is not a path".to_owned(),
    };
    errors.spanned(raw, format!("{} option `crate` takes a path, found {found}: {hint}", kind.attr()));
    None
}

fn parse_duration_option(
    value: &Expr,
    raw: &TokenStream,
    key: &str,
    nonzero: bool,
    errors: &mut Errors,
) -> Option<u64> {
    let Some(Lit::Str(s)) = literal(value) else {
        let found = match literal(value) {
            Some(Lit::Int(i)) => format!(
                "an integer: write `{key} = \"{}ms\"` or `\"{}s\"` with a unit",
                i.base10_digits(),
                i.base10_digits()
            ),
            _ => format!("{}: write `{key} = {}`", describe(value), example(key)),
        };
        errors.spanned(raw, format!("#[step] option `{key}` takes a duration string, found {found}"));
        return None;
    };
    match parse_duration(&s.value()) {
        Ok(0) if nonzero => {
            errors.spanned(s, format!("#[step] option `{key}` must be longer than zero: give the limit, e.g. `{key} = \"30s\"`, or leave `{key}` out to wait without limit"));
            None
        }
        Ok(nanos) => Some(nanos),
        Err(why) => {
            errors.spanned(s, format!("invalid duration for #[step] option `{key}`: {why}"));
            None
        }
    }
}

/// The accepted forms of `cpu`, for error messages.
const CPU_FORMS: &str = "use millicores like \"500m\", or a number of cores like \"2\", \"0.5\" or `cpu = 2` (Kubernetes CPU quantities)";
/// The accepted forms of `memory`, for error messages.
const MEMORY_FORMS: &str = "use a number of bytes with a binary suffix (Ki, Mi, Gi, Ti, Pi, Ei: powers of 1024) or a decimal one (k, M, G, T, P, E: powers of 1000), like \"512Mi\", \"2Gi\" or \"1G\" (Kubernetes memory quantities)";

fn parse_cpu_option(value: &Expr, raw: &TokenStream, errors: &mut Errors) -> Option<u32> {
    let (text, span): (String, &dyn ToTokens) = match literal(value) {
        Some(Lit::Str(s)) => (s.value(), s),
        Some(Lit::Int(i)) if i.suffix().is_empty() => (i.base10_digits().to_owned(), i),
        Some(Lit::Float(f)) if f.suffix().is_empty() => (f.base10_digits().to_owned(), f),
        _ => {
            errors.spanned(
                raw,
                format!("#[step] option `cpu` takes a CPU quantity, found {}: {CPU_FORMS}", describe(value)),
            );
            return None;
        }
    };
    match parse_cpu(&text) {
        Ok(millis) => Some(millis),
        Err(why) => {
            errors.spanned(span, format!("invalid CPU quantity for #[step] option `cpu`: {why}"));
            None
        }
    }
}

fn parse_memory_option(value: &Expr, raw: &TokenStream, errors: &mut Errors) -> Option<u64> {
    match literal(value) {
        Some(Lit::Str(s)) => match parse_memory(&s.value()) {
            Ok(bytes) => Some(bytes),
            Err(why) => {
                errors.spanned(s, format!("invalid memory quantity for #[step] option `memory`: {why}"));
                None
            }
        },
        Some(Lit::Int(i)) => {
            let n = i.base10_digits();
            errors.spanned(
                raw,
                format!("#[step] option `memory` takes a quantity string, found an integer: write `memory = \"{n}Mi\"` or `\"{n}Gi\"` with a unit (or `\"{n}\"` for {n} bytes)"),
            );
            None
        }
        _ => {
            errors.spanned(
                raw,
                format!(
                    "#[step] option `memory` takes a quantity string, found {}: {MEMORY_FORMS}",
                    describe(value)
                ),
            );
            None
        }
    }
}

/// Parses a Kubernetes CPU quantity into millicores: `"500m"` (millicores), `"2"`, `"0.5"` or
/// `"1.25"` (cores, at most three decimal places). It must be more than zero and fit in a `u32`.
pub fn parse_cpu(text: &str) -> Result<u32, String> {
    if let Some(message) = spaced(text, parse_cpu) {
        return Err(message);
    }
    let too_much = || format!("`{text}` is too much: at most {} millicores", u32::MAX);
    let millis: u64 = if let Some(number) = text.strip_suffix('m') {
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(not_a_quantity(text, "CPU", CPU_FORMS));
        }
        number.parse::<u64>().map_err(|_| too_much())?
    } else {
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !digits(int) || !digits(frac) || (text.contains('.') && frac.is_empty()) {
            return Err(not_a_quantity(text, "CPU", CPU_FORMS));
        }
        if frac.len() > 3 {
            return Err(format!(
                "`{text}` is finer than a millicore: give at most three decimal places, or millicores like \"500m\""
            ));
        }
        let cores = int.parse::<u64>().map_err(|_| too_much())?;
        let frac = format!("{frac:0<3}").parse::<u64>().unwrap_or(0);
        cores.checked_mul(1000).and_then(|m| m.checked_add(frac)).ok_or_else(too_much)?
    };
    match u32::try_from(millis) {
        Ok(0) => Err(format!(
            "`{text}` asks for no CPU: give more than zero, e.g. `cpu = \"500m\"`, or leave `cpu` out"
        )),
        Ok(millis) => Ok(millis),
        Err(_) => Err(too_much()),
    }
}

/// Parses a Kubernetes memory quantity into bytes: a decimal number directly followed by nothing
/// (bytes), a binary suffix `Ki`, `Mi`, `Gi`, `Ti`, `Pi`, `Ei` (powers of 1024) or a decimal
/// one `k`, `M`, `G`, `T`, `P`, `E` (powers of 1000): `"512Mi"`, `"1.5Gi"`, `"1G"`. It must be
/// a whole number of bytes, more than zero, and fit in a `u64`.
pub fn parse_memory(text: &str) -> Result<u64, String> {
    if let Some(message) = spaced(text, parse_memory) {
        return Err(message);
    }
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let unit: u128 = match suffix {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "Pi" => 1 << 50,
        "Ei" => 1 << 60,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "P" => 1_000_000_000_000_000,
        "E" => 1_000_000_000_000_000_000,
        _ => return Err(memory_hint(text, number, suffix)),
    };
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() || frac.contains('.') || (number.contains('.') && frac.is_empty()) {
        return Err(not_a_quantity(text, "memory", MEMORY_FORMS));
    }
    let too_much = || format!("`{text}` is too much: at most {} bytes (16Ei)", u64::MAX);
    let whole = int.parse::<u128>().ok().and_then(|n| n.checked_mul(unit)).ok_or_else(too_much)?;
    let mut fraction = 0;
    if !frac.is_empty() {
        if frac.len() > 18 {
            return Err(format!("`{text}` has too many decimal places"));
        }
        let scale = 10u128.pow(frac.len() as u32);
        let scaled = frac.parse::<u128>().map_err(|_| too_much())? * unit;
        if !scaled.is_multiple_of(scale) {
            return Err(format!("`{text}` is not a whole number of bytes"));
        }
        fraction = scaled / scale;
    }
    match u64::try_from(whole + fraction) {
        Ok(0) => Err(format!(
            "`{text}` asks for no memory: give more than zero, e.g. `memory = \"512Mi\"`, or leave `memory` out"
        )),
        Ok(bytes) => Ok(bytes),
        Err(_) => Err(too_much()),
    }
}

fn not_a_quantity(text: &str, what: &str, forms: &str) -> String {
    format!("`{text}` is not a {what} quantity; {forms}")
}

/// For a quantity that is valid once its spaces are taken out, the message saying so.
fn spaced<T>(text: &str, parse: fn(&str) -> Result<T, String>) -> Option<String> {
    let joined: String = text.split_whitespace().collect();
    (joined != text && !joined.is_empty() && parse(&joined).is_ok())
        .then(|| format!("`{text}` has spaces, and Kubernetes quantities have none: write \"{joined}\""))
}

/// The message for a memory quantity with an unknown suffix: a suggestion for the usual mistakes
/// (`"1 GB"`, `"512mb"`, `"512m"`, `"2GiB"`), then the accepted forms.
fn memory_hint(text: &str, number: &str, suffix: &str) -> String {
    let unit = suffix.trim();
    let letter = unit.chars().next().map(|c| c.to_ascii_lowercase());
    let number = number.trim();
    let plain = unit.trim_end_matches(['B', 'b']);
    let known = matches!(plain.len(), 1 | 2)
        && (plain.len() == 1 || plain.ends_with(['i', 'I']))
        && matches!(letter, Some('k' | 'm' | 'g' | 't' | 'p' | 'e'));
    if !number.is_empty()
        && known
        && let Some(letter) = letter
    {
        let binary = format!("{number}{}i", letter.to_ascii_uppercase());
        let decimal = format!("{number}{}", if letter == 'k' { 'k' } else { letter.to_ascii_uppercase() });
        let milli =
            if unit == "m" { "; a lower-case `m` means thousandths in Kubernetes quantities" } else { "" };
        return format!(
            "`{text}` is not a memory quantity{milli}: write \"{binary}\" ({number} x {}) or \"{decimal}\" ({number} x {}), with no space and no `B`; {MEMORY_FORMS}",
            binary_power(letter),
            decimal_power(letter),
        );
    }
    not_a_quantity(text, "memory", MEMORY_FORMS)
}

fn binary_power(letter: char) -> &'static str {
    match letter {
        'k' => "1024",
        'm' => "1024^2",
        'g' => "1024^3",
        't' => "1024^4",
        'p' => "1024^5",
        _ => "1024^6",
    }
}

fn decimal_power(letter: char) -> &'static str {
    match letter {
        'k' => "1000",
        'm' => "1000^2",
        'g' => "1000^3",
        't' => "1000^4",
        'p' => "1000^5",
        _ => "1000^6",
    }
}

/// Parses `"250ms"`, `"2s"`, `"1.5s"`, `"1m"`, `"500us"`, `"1h"`, ... into nanoseconds.
///
/// The grammar is a decimal number (digits, optionally a `.` and more digits) directly followed
/// by a unit: `ns`, `us` (or `µs`), `ms`, `s`, `m` (minutes) or `h`. The result must be a whole
/// number of nanoseconds and fit in a `u64` (about 584 years).
pub fn parse_duration(text: &str) -> Result<u64, String> {
    const FORMS: &str = "a number directly followed by a unit, like \"500us\", \"250ms\", \"2s\", \"1.5s\", \"1m\" or \"1h\" (units: ns, us, ms, s, m, h)";
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit_nanos: u64 = match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => MS,
        "s" => 1_000 * MS,
        "m" => 60_000 * MS,
        "h" => 3_600_000 * MS,
        "" => return Err(format!("`{text}` has no unit; expected {FORMS}")),
        _ => return Err(format!("`{text}` is not a duration; expected {FORMS}")),
    };
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() || frac.contains('.') || (number.contains('.') && frac.is_empty()) {
        return Err(format!("`{text}` is not a duration; expected {FORMS}"));
    }
    let too_long = || format!("`{text}` is too long: a duration must be under 584 years");
    let whole: u128 =
        int.parse::<u128>().ok().and_then(|n| n.checked_mul(u128::from(unit_nanos))).ok_or_else(too_long)?;
    let mut fraction: u128 = 0;
    if !frac.is_empty() {
        if frac.len() > 18 {
            return Err(format!("`{text}` has too many decimal places"));
        }
        let scale = 10u128.pow(frac.len() as u32);
        let scaled = frac.parse::<u128>().map_err(|_| too_long())? * u128::from(unit_nanos);
        if scaled % scale != 0 {
            return Err(format!("`{text}` is not a whole number of nanoseconds"));
        }
        fraction = scaled / scale;
    }
    u64::try_from(whole + fraction).map_err(|_| too_long())
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn ok(attr: TokenStream, kind: MacroKind) -> Options {
        let mut errors = Errors::default();
        let options = parse(attr, kind, &mut errors);
        if let Some(error) = errors.take() {
            panic!("unexpected errors: {:?}", error.into_iter().map(|e| e.to_string()).collect::<Vec<_>>());
        }
        options
    }

    fn errs(attr: TokenStream, kind: MacroKind) -> Vec<String> {
        let mut errors = Errors::default();
        parse(attr, kind, &mut errors);
        errors.take().map(|e| e.into_iter().map(|e| e.to_string()).collect()).unwrap_or_default()
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(250 * MS));
        assert_eq!(parse_duration("2s"), Ok(2_000 * MS));
        assert_eq!(parse_duration("1m"), Ok(60_000 * MS));
        assert_eq!(parse_duration("1h"), Ok(3_600_000 * MS));
        assert_eq!(parse_duration("500us"), Ok(500_000));
        assert_eq!(parse_duration("500µs"), Ok(500_000));
        assert_eq!(parse_duration("7ns"), Ok(7));
        assert_eq!(parse_duration("1.5s"), Ok(1_500 * MS));
        assert_eq!(parse_duration("0.25ms"), Ok(250_000));
        assert_eq!(parse_duration("0s"), Ok(0));
        assert_eq!(parse_duration("007ms"), Ok(7 * MS));
        assert_eq!(parse_duration("5000000h"), Ok(5_000_000 * 3_600_000 * MS));
        for bad in [
            "", "5", "ms", "1.s", ".5s", "1..5s", "1.2.3s", "1 s", " 1s", "1s ", "-1s", "1sec", "1S", "1d",
            "1e3ms", "1m30s", "+1s", "1_000ms",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(parse_duration("5").unwrap_err().contains("no unit"));
        assert!(parse_duration("1x").unwrap_err().contains("\"250ms\""));
        assert!(parse_duration("1.5ns").unwrap_err().contains("whole number of nanoseconds"));
        assert!(parse_duration("600000000000h").unwrap_err().contains("too long"));
        assert!(
            parse_duration("99999999999999999999999999999999999999999999s").unwrap_err().contains("too long")
        );
        assert_eq!(parse_duration("18446744073.709551615s"), Ok(u64::MAX));
        assert!(parse_duration("18446744073.709551616s").is_err());
    }

    #[test]
    fn cpu_quantities() {
        for (text, millis) in
            [("500m", 500), ("1m", 1), ("2", 2000), ("0.5", 500), ("1.25", 1250), ("0.001", 1), ("007", 7000)]
        {
            assert_eq!(parse_cpu(text), Ok(millis), "{text}");
        }
        assert_eq!(parse_cpu("4294967295m"), Ok(u32::MAX));
        for bad in ["", "lots", "m", "-1", "1.", ".5", "1..5", "1e3", "2k", "500M", "1_000m", "+1", "0.5m"] {
            assert!(parse_cpu(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(parse_cpu("lots").unwrap_err().contains("use millicores like \"500m\""));
        assert!(parse_cpu("0").unwrap_err().contains("asks for no CPU"));
        assert!(parse_cpu("0m").unwrap_err().contains("asks for no CPU"));
        assert!(parse_cpu("0.0001").unwrap_err().contains("finer than a millicore"));
        assert!(parse_cpu("4294967296m").unwrap_err().contains("too much"));
        assert!(parse_cpu("4294968").unwrap_err().contains("too much"));
        assert!(parse_cpu("500 m").unwrap_err().contains("write \"500m\""));
        assert!(parse_cpu("2 cores").unwrap_err().contains("is not a CPU quantity"));
    }

    #[test]
    fn memory_quantities() {
        for (text, bytes) in [
            ("512Mi", 512u64 << 20),
            ("2Gi", 2 << 30),
            ("1G", 1_000_000_000),
            ("1k", 1_000),
            ("1Ki", 1_024),
            ("1.5Gi", 3 << 29),
            ("0.5k", 500),
            ("4096", 4096),
            ("1Ei", 1 << 60),
            ("15Ei", 15 << 60),
        ] {
            assert_eq!(parse_memory(text), Ok(bytes), "{text}");
        }
        for bad in
            ["", "Mi", "1 GB", "1GB", "512mb", "512m", "2GiB", "1K", "1e9", "-1Gi", "1.Gi", "lots", "1.5"]
        {
            assert!(parse_memory(bad).is_err(), "{bad:?} should be rejected");
        }
        let e = parse_memory("1 GB").unwrap_err();
        assert!(
            e.contains("write \"1Gi\" (1 x 1024^3) or \"1G\" (1 x 1000^3)") && e.contains("\"512Mi\""),
            "{e}"
        );
        assert!(parse_memory("512m").unwrap_err().contains("lower-case `m` means thousandths"));
        assert!(parse_memory("2GiB").unwrap_err().contains("write \"2Gi\""));
        assert!(parse_memory("1K").unwrap_err().contains("\"1Ki\" (1 x 1024) or \"1k\""));
        assert!(parse_memory("512 Mi").unwrap_err().contains("has spaces"));
        assert!(parse_memory("0Gi").unwrap_err().contains("asks for no memory"));
        assert!(parse_memory("1.5").unwrap_err().contains("whole number of bytes"));
        assert!(parse_memory("16Ei").unwrap_err().contains("too much"));
        assert!(parse_memory("lots").unwrap_err().contains("is not a memory quantity"));
    }

    #[test]
    fn no_options_gives_defaults() {
        let o = ok(quote!(), MacroKind::Step);
        assert!(o.name.is_none() && o.version.is_none() && o.deps.is_empty());
        assert!(o.cache.is_none() && o.retries.is_none() && o.backoff.is_none() && o.timeout.is_none());
    }

    #[test]
    fn all_step_options() {
        let o = ok(
            quote!(
                name = "train",
                version = 3,
                deps = [a, b::c, ::d::e],
                cache = false,
                retries = 2u32,
                backoff = "50ms",
                timeout = "1.5s",
                cpu = "250m",
                memory = "1.5Gi",
            ),
            MacroKind::Step,
        );
        assert_eq!(o.name.unwrap().value(), "train");
        assert_eq!(o.version, Some(3));
        let deps: Vec<String> = o.deps.iter().map(|p| p.to_token_stream().to_string()).collect();
        assert_eq!(deps, ["a", "b :: c", ":: d :: e"]);
        assert_eq!(o.cache, Some(false));
        assert_eq!(o.retries, Some(2));
        assert_eq!(o.backoff, Some(50 * MS));
        assert_eq!(o.timeout, Some(1_500 * MS));
        assert_eq!(o.cpu, Some(250));
        assert_eq!(o.memory, Some(3 << 29));
    }

    #[test]
    fn helper_takes_deps_only() {
        let o = ok(quote!(deps = [x]), MacroKind::Helper);
        assert_eq!(o.deps.len(), 1);
        let e = errs(quote!(version = 2), MacroKind::Helper);
        assert_eq!(e.len(), 1);
        assert!(
            e[0].contains("unknown #[helper] option `version`") && e[0].contains("#[step] option"),
            "{e:?}"
        );
        let e = errs(quote!(colour = 2), MacroKind::Helper);
        assert!(e[0].contains("the options are `deps`, `crate`"), "{e:?}");
    }

    #[test]
    fn unknown_options_list_the_known_ones_and_suggest() {
        let e = errs(quote!(colour = "red"), MacroKind::Step);
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("unknown #[step] option `colour`"), "{e:?}");
        assert!(
            e[0].contains(
                "`name`, `version`, `deps`, `cache`, `retries`, `backoff`, `timeout`, `cpu`, `memory`, `crate`"
            ),
            "{e:?}"
        );
        let e = errs(quote!(retry = 3), MacroKind::Step);
        assert!(e[0].contains("did you mean `retries`?"), "{e:?}");
        let e = errs(quote!(a::b = 3), MacroKind::Step);
        assert!(e[0].contains("option `a::b`"), "{e:?}");
    }

    #[test]
    fn crate_path() {
        for kind in [MacroKind::Step, MacroKind::Helper] {
            let o = ok(quote!(crate = mlflow_core), kind);
            assert_eq!(o.krate.unwrap().to_token_stream().to_string(), "mlflow_core");
            let o = ok(quote!(crate = ::my::reexport), kind);
            assert_eq!(o.krate.unwrap().to_token_stream().to_string(), ":: my :: reexport");
            let o = ok(quote!(crate = crate::mlflow), kind);
            assert_eq!(o.krate.unwrap().to_token_stream().to_string(), "crate :: mlflow");
        }
        let e = errs(quote!(crate = "mlflow"), MacroKind::Step);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("found a string: write `crate = mlflow` without quotes"), "{e:?}");
        let e = errs(quote!(crate = 1), MacroKind::Helper);
        assert!(e[0].contains("#[helper] option `crate` takes a path, found an integer"), "{e:?}");
        let e = errs(quote!(crate = mlflow::<u8>), MacroKind::Step);
        assert!(e[0].contains("a path with generic arguments"), "{e:?}");
        let e = errs(quote!(crate), MacroKind::Step);
        assert!(e[0].contains("needs a value: write `crate = my_crate::mlflow`"), "{e:?}");
    }

    #[test]
    fn duplicates_are_reported_once_each() {
        let e = errs(quote!(cache = false, retries = 1, cache = true, cache = false), MacroKind::Step);
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e.iter().all(|e| e.starts_with("duplicate #[step] option `cache`")), "{e:?}");
    }

    #[test]
    fn ill_typed_values() {
        let cases: &[(TokenStream, &str)] = &[
            (quote!(cache = "no"), "`cache` takes a bool, found a string"),
            (quote!(cache = "false"), "write `cache = false` without quotes"),
            (quote!(cache = 1), "`cache` takes a bool, found an integer"),
            (
                quote!(retries = -1),
                "non-negative integer (the number of retries, a `u32`), found a negative number",
            ),
            (quote!(retries = 1.5), "found a float"),
            (quote!(retries = 4294967296), "does not fit in a u32"),
            (quote!(retries = 3u8), "found a `u8` literal: write `retries = 3`"),
            (quote!(version = "2"), "write `version = 2` without quotes"),
            (quote!(version = v2), "found a path"),
            (quote!(name = 5), "`name` takes a string, found an integer"),
            (quote!(name = ""), "must not be empty"),
            (quote!(deps = helper), "write `deps = [helper]`"),
            (quote!(deps = "helper"), "takes a list of paths, found a string"),
            (quote!(deps = [a, "b"]), "each entry of `deps` must be the path"),
            (quote!(deps = [a, b, a]), "`a` is listed twice"),
            (quote!(deps = [a::<u8>]), "without generic arguments"),
            (quote!(backoff = 100), "write `backoff = \"100ms\"`"),
            (
                quote!(backoff = "fast"),
                "invalid duration for #[step] option `backoff`: `fast` is not a duration",
            ),
            (quote!(timeout = "0s"), "`timeout` must be longer than zero"),
            (
                quote!(cpu = "lots"),
                "invalid CPU quantity for #[step] option `cpu`: `lots` is not a CPU quantity",
            ),
            (quote!(cpu = true), "`cpu` takes a CPU quantity, found a bool"),
            (quote!(cpu = 0), "asks for no CPU"),
            (quote!(memory = "1 GB"), "invalid memory quantity for #[step] option `memory`"),
            (quote!(memory = 512), "write `memory = \"512Mi\"`"),
            (quote!(memory = x), "`memory` takes a quantity string, found a path"),
            (quote!(timeout = "0.0ms"), "`timeout` must be longer than zero"),
            (quote!(cache), "needs a value: write `cache = false`"),
            (quote!(deps(a, b)), "is written with `=`"),
        ];
        for (attr, expected) in cases {
            let e = errs(attr.clone(), MacroKind::Step);
            assert_eq!(e.len(), 1, "{attr}: {e:?}");
            assert!(e[0].contains(expected), "{attr}: expected {expected:?} in {:?}", e[0]);
        }
        assert_eq!(ok(quote!(backoff = "0s"), MacroKind::Step).backoff, Some(0));
        assert_eq!(ok(quote!(cpu = 2), MacroKind::Step).cpu, Some(2000));
        assert_eq!(ok(quote!(cpu = 0.25), MacroKind::Step).cpu, Some(250));
    }

    #[test]
    fn every_mistake_is_reported_and_valid_options_kept() {
        let mut errors = Errors::default();
        let o = parse(
            quote!(colour = 1, cache = "no", retries = 2, timeout = "soon", retries = 3),
            MacroKind::Step,
            &mut errors,
        );
        let e: Vec<String> = errors.take().unwrap().into_iter().map(|e| e.to_string()).collect();
        assert_eq!(e.len(), 4, "{e:?}");
        assert_eq!(o.retries, Some(2));
    }

    #[test]
    fn syntax_errors_are_reported() {
        let e = errs(quote!(cache = false retries = 1), MacroKind::Step);
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("invalid value for #[step] option `cache`"), "{e:?}");
        let e = errs(quote!(cache = ), MacroKind::Step);
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("invalid #[step] options: expected a value after `=`"), "{e:?}");
        let e = errs(quote!(= 1), MacroKind::Step);
        assert!(e[0].starts_with("invalid #[step] options"), "{e:?}");
    }
}
