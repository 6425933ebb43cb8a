//! Procedural macros of the `mlflow` pipeline library: `#[step]` and `#[helper]`.
//!
//! This crate is an implementation detail. Use the macros through the `mlflow` facade crate
//! (`use mlflow::prelude::*;` or `mlflow::step` / `mlflow::helper`): the code they generate names
//! the runtime only through `::mlflow::__private::...`, so it compiles only in crates that depend
//! on `mlflow` under that name.
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
///   immutable artifacts.
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
/// backoff = "...", timeout = "...")]`, all optional, each at most once:
///
/// | option | default | meaning |
/// |---|---|---|
/// | `name = "str"` | the function's name | the step's name in reports and in the cache key |
/// | `version = N` (u32) | `0` | bump to invalidate cached results when something the code hash cannot see changed |
/// | `deps = [path, ...]` | none | functions marked `#[helper]` whose code hashes are folded into the cache key |
/// | `cache = bool` | `true` | look the output up in the cache and store it there |
/// | `retries = N` (u32) | `0` | how many times a failed attempt is tried again |
/// | `backoff = "dur"` | `"100ms"` | wait before the first retry (doubles for each later one) |
/// | `timeout = "dur"` | none | give up on an attempt after this long (must not be zero) |
///
/// A duration is a decimal number followed by a unit: `ns`, `us` (or `µs`), `ms`, `s`, `m`
/// (minutes) or `h`, for example `"500us"`, `"250ms"`, `"1.5s"`, `"2m"`, `"1h"`. It is parsed
/// when the macro expands; an invalid one is a compile error at the literal.
///
/// # Code hash
///
/// `Step::CODE_HASH` is computed at expansion time from a canonical walk of the function's tokens
/// (attributes, signature and body; identifiers, punctuation, literals and groups, without
/// spans): reformatting (whitespace, line breaks, the trailing commas rustfmt adds or removes)
/// and comments, including doc comments, keep it; any other edit changes it and so invalidates
/// the step's cached results. The `#[step(...)]` options are not part of it. Code the function calls is not seen: list such functions in
/// `deps` (after marking them `#[helper]`) or bump `version`.
///
/// # Errors
///
/// Every mistake (unknown, duplicate or ill-typed option, invalid duration, unsupported
/// signature) is reported at its own span, all at once; the function itself is still emitted, so
/// the rest of the crate does not fail with follow-on errors. Type mistakes are reported by rustc
/// at the offending type with a message saying what to do: an input or output that is not an
/// artifact, an input taken by value that is not `Clone`, an error type that is not
/// `std::error::Error + Send + Sync + 'static`.
#[proc_macro_attribute]
pub fn step(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(attr, item, step::expand)
}

/// Marks a function whose code steps depend on, so that `#[step(deps = [this_fn])]` folds its
/// code hash into their cache key.
///
/// ```text
/// #[helper]
/// fn normalize(x: f64, mean: f64, sd: f64) -> f64 { (x - mean) / sd }
///
/// #[helper(deps = [normalize])]
/// fn standardize(xs: &[f64]) -> Vec<f64> { ... normalize(...) ... }
///
/// #[step(deps = [standardize])]
/// fn features(raw: &Table) -> Features { ... standardize(...) ... }
/// ```
///
/// The function is left exactly as written. Next to it the macro adds a hidden braced struct with
/// the function's own name and visibility (a braced struct lives only in the type namespace, so
/// it does not clash with the function), implementing `mlflow::step::Helper`: its `code_hash()`
/// is the hash of the function's tokens (computed like a step's code hash: formatting, comments
/// and doc comments do not count) combined with the hashes of the helper's own `deps`.
///
/// The only option is `deps = [path, ...]`, naming other `#[helper]` functions (by path, with
/// the usual visibility rules). Any function can be a helper, including generic, `async` and
/// `unsafe` ones, but not a method (it must be a free function). Helpers must not depend on each
/// other in a cycle: `code_hash()` would recurse forever.
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
