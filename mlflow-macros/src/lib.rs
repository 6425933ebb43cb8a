//! Procedural macros of the `mlflow` pipeline library: `#[step]` and `#[helper]`.
//!
//! This crate is an implementation detail. Use the macros through the `mlflow` facade crate
//! (`use mlflow::prelude::*;` or `mlflow::step` / `mlflow::helper`): the code they generate names
//! the runtime through `::mlflow::__private::...`, so it compiles in crates that depend on
//! `mlflow` under that name, or that say where mlflow is with `crate = path` (a crate that
//! re-exports mlflow, or `mlflow_core` itself).
//!
//! Both macros leave the annotated function exactly as written. `#[step]` adds a sibling type that
//! implements `mlflow::step::Step`; `#[helper]` adds a hidden type that implements
//! `mlflow::step::Helper`, so that steps can fold the helper's code into their cache key.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;

mod code_hash;
mod diag;
mod discover;
mod helper;
mod item;
mod options;
mod step;

/// Turns a plain function into a pipeline step.
///
/// ```text
/// #[step]
/// fn engineer(raw: &RawTable, cfg: &FeatureConfig) -> Result<Features, DataError> { ... }
/// ```
///
/// The function is left as written: it stays callable and unit-testable. The only addition is
/// `#[allow(clippy::ptr_arg, clippy::too_many_arguments)]` when it has inputs: a step borrowing
/// the artifact `Vec<f64>` must take `&Vec<f64>` (not the `&[f64]` clippy would suggest), and
/// each argument is one input wired from its own node. Next to it the
/// macro adds a unit struct named after the function in UpperCamelCase plus `Step` (`engineer`
/// gives `EngineerStep`), with the function's visibility and `#[derive(Clone, Copy, Debug,
/// Default)]`, implementing `mlflow::step::Step`. Pass that struct to `Pipeline::step`.
///
/// # Inputs and output
///
/// Each argument is one input, in order; `Step::Inputs` is the tuple of their types.
///
/// * `x: &T` borrows the shared input artifact `T` (no copy);
/// * `x: T` receives a clone of the artifact (`T` must implement `Clone`);
/// * `&mut T`, `impl Trait`, `self` and variadic arguments are rejected: inputs are shared,
///   immutable artifacts;
/// * `&str`, `&[T]`, `&Path` are rejected with the owned form to borrow instead (`&String`,
///   `&Vec<T>`, `&PathBuf`): the artifact is the owned value.
///
/// The output is the return type: `-> T` (the step cannot fail), `-> Result<T, E>` or a one
/// argument alias such as `io::Result<T>` / `anyhow::Result<T>` (the step's output is `T`, an
/// `Err` fails the step; `E` must convert into `Box<dyn Error + Send + Sync>`), or no return type
/// (the output is `()`). Every input and output type must be an artifact (`Serialize +
/// DeserializeOwned + Send + Sync + 'static`); a type that is not is reported at its span.
///
/// The function must not be generic over types or constants, `async`, `unsafe`, or a method.
/// Lifetime parameters are accepted only on the argument references (`fn f<'a>(x: &'a A)`).
///
/// # Options
///
/// `#[step(name = "...", version = N, deps = [helper, ...], cache = bool, retries = N,
/// backoff = "...", timeout = "...", cpu = "...", memory = "...")]`, all optional, each at most
/// once:
///
/// | option | default | meaning |
/// |---|---|---|
/// | `name = "str"` | the function's name | the step's name in reports and in the cache key |
/// | `version = N` (u32) | `0` | bump to invalidate cached results when something the code hash cannot see changed |
/// | `deps = [path, ...]` | none | more `#[helper]` functions to fold into the cache key, besides those discovered (see below) |
/// | `cache = bool` | `true` | look the output up in the cache and store it there |
/// | `retries = N` (u32) | `0` | how many times a failed attempt is tried again |
/// | `backoff = "dur"` | `"100ms"` | wait before the first retry (doubles for each later one) |
/// | `timeout = "dur"` | none | give up on an attempt after this long (must not be zero) |
/// | `cpu = "500m"` or `cpu = 2` | none | the CPU the step asks for when it runs as a pod of its own (an execution plan's resource request) |
/// | `memory = "512Mi"` | none | the memory it asks for, likewise |
/// | `crate = path` | `::mlflow` | where the generated code finds the runtime: `path::__private` |
///
/// `crate = path` is for crates that re-export mlflow (`#[step(crate = my_framework::mlflow)]`)
/// and for `mlflow-core`'s own examples (`#[mlflow_macros::step(crate = mlflow_core)]`).
///
/// A duration is a decimal number followed by a unit: `ns`, `us` (or `µs`), `ms`, `s`, `m`
/// (minutes) or `h`, for example `"500us"`, `"250ms"`, `"1.5s"`, `"2m"`, `"1h"`. It is parsed
/// when the macro expands; an invalid one is a compile error at the literal.
///
/// `cpu` and `memory` are Kubernetes quantities, checked when the macro expands: CPU in
/// millicores (`"500m"`) or cores (`"2"`, `"0.5"`, `cpu = 2`), memory in bytes with a binary
/// suffix `Ki`, `Mi`, `Gi`, `Ti`, `Pi`, `Ei` or a decimal one `k`, `M`, `G`, `T`, `P`, `E`
/// (`"512Mi"`, `"2Gi"`, `"1G"`). They are not part of the cache key.
///
/// # Code hash
///
/// `Step::CODE_HASH` is computed at expansion time from a canonical walk of the function's tokens
/// (attributes, signature and body; identifiers, punctuation, literals and groups, without
/// spans): reformatting (whitespace, line breaks, the trailing commas rustfmt adds or removes)
/// and comments, including doc comments, keep it; any other edit changes it and so invalidates
/// the step's cached results. The `#[step(...)]` options are not part of it.
///
/// # Helpers: discovered, or listed in `deps`
///
/// The cache key also holds the code hash of every `#[helper]` function the step depends on
/// (`Step::helpers()`: each helper once, with its name and own code hash, sorted), so editing a
/// helper reruns the steps that use it. Helpers are found without listing them:
///
/// * the body's calls and function values: `adjust(x)`, `.map(adjust)`, `helpers::adjust(x)`,
///   `self::util::adjust(x)`, through renamed imports (`use helpers::adjust as tweak;` in the
///   module or in the body, then `tweak(x)`) and glob imports;
/// * `name(...)` calls inside macro invocations (`vec![adjust(x)]`, `format!("{}", adjust(x))`;
///   macro arguments that parse as expressions are read like code);
/// * transitively: the helpers a helper's body calls, and so on (cycles are fine: each helper is
///   counted once).
///
/// How: the macro collects the snake_case names the body uses as paths (skipping names bound
/// locally, unless they are called) and lets rustc resolve each one where the function is, in
/// the type namespace, where `#[helper] fn adjust` has put a hidden struct `adjust`. A name that
/// is not a helper adds nothing.
///
/// What discovery cannot see, and `deps = [...]` (or `version`) is for:
///
/// * method calls (`x.adjust()`) and associated functions (`Type::adjust(x)`): only free
///   functions can be helpers;
/// * functions reached through values: function pointers or closures stored in a struct, a
///   static, or passed in from elsewhere, trait objects, generic parameters (`F: Fn(..)`);
/// * calls produced by a macro expansion rather than written in the invocation (a `macro_rules!`
///   that calls a helper by name in its own body), and macro arguments that are neither
///   expressions nor `name(...)` calls;
/// * code that is not a `#[helper]` at all (plain functions, other crates without `#[helper]`).
///
/// Steps declared inside a function body (as in doctests, which rustdoc wraps in `fn main`, and
/// some tests) resolve names in the enclosing *module*: the items of the function body, and its
/// `use` declarations, are invisible to them (a module's `super` skips the blocks around it). So
/// such a step is conservative: when it calls a name that is not a `#[helper]` of the module
/// (apart from its own locals), which might be a helper declared or imported in the function
/// body, its key also holds a stand-in entry whose hash is unique to the build. It then hits
/// within one build (one test binary, one program run after another) and misses after every
/// rebuild of the crate, never hitting a result computed with other code. Explicit
/// `deps = [...]` are resolved where the step is, in the function body too. A helper declared in
/// the body and reached through a path of a module also declared there (`local_mod::adjust(x)`)
/// makes the expansion fail to compile. Declare steps (and their helpers) at module level to
/// get precise discovery.
///
/// A name that is also a module in the step's scope (`mod parse; use parse::parse;` and then
/// `parse(x)`) cannot be probed: the expansion fails with "expected type, found module". Call it
/// by path (`parse::parse(x)`), which discovery follows.
///
/// # Errors
///
/// Every mistake (unknown, duplicate or ill-typed option, invalid duration, unsupported
/// signature) is reported at its own span, all at once; the function itself is still emitted, and
/// so is `FooStep` (on a signature error, a placeholder whose types are those the function most
/// likely means: `T` for `&mut T`, `String` for `&str`, `Vec<T>` for `&[T]`), so the rest of the
/// crate does not fail with follow-on errors. Type mistakes are reported by rustc
/// at the offending type with a message saying what to do: an input or output that is not an
/// artifact, an input taken by value that is not `Clone`, an error type that is not
/// `std::error::Error + Send + Sync + 'static`.
#[proc_macro_attribute]
pub fn step(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(attr, item, step::expand)
}

/// Marks a function whose code steps depend on: a step that calls it (directly, or through other
/// helpers) folds its code hash into the step's cache key, so editing it reruns those steps.
///
/// ```text
/// #[helper]
/// fn normalize(x: f64, mean: f64, sd: f64) -> f64 { (x - mean) / sd }
///
/// #[helper]
/// fn standardize(xs: &[f64]) -> Vec<f64> { ... normalize(...) ... }
///
/// #[step]
/// fn features(raw: &Table) -> Features { ... standardize(...) ... }   // both helpers found
/// ```
///
/// The function is left exactly as written. Next to it the macro adds a hidden braced struct with
/// the function's own name and visibility (a braced struct lives only in the type namespace, so
/// it does not clash with the function), implementing `mlflow::step::Helper`: `code_hash()` is the
/// hash of the function's tokens (computed like a step's code hash: formatting, comments and doc
/// comments do not count), `name()` its path, and `helpers()` the helpers it depends on (its
/// `deps` and those found in its body; see "Helpers" on `#[step]` for what is found and what is
/// not).
///
/// Options: `deps = [path, ...]`, other `#[helper]` functions to count even though discovery
/// cannot see the call (by path, with the usual visibility rules), and `crate = path` (as on
/// `#[step]`). Any function can be a helper, including generic, `async` and `unsafe` ones, but
/// not a method (it must be a free function). Helpers may call each other in cycles, and
/// themselves.
#[proc_macro_attribute]
pub fn helper(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(attr, item, helper::expand)
}

/// Runs an expansion; on error, emits the item unchanged followed by every error, so the user sees
/// all mistakes at once and no follow-on "cannot find function" errors.
fn run(
    attr: TokenStream,
    item: TokenStream,
    expand: fn(TokenStream2, TokenStream2) -> syn::Result<TokenStream2>,
) -> TokenStream {
    let item = TokenStream2::from(item);
    match expand(attr.into(), item.clone()) {
        Ok(tokens) => tokens.into(),
        Err(error) => {
            let errors = error.to_compile_error();
            quote::quote!(#item #errors).into()
        }
    }
}
