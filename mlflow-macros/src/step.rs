//! `#[step]`: keeps the function and adds a sibling unit struct implementing `Step`.

use proc_macro2::{Delimiter, Group, Ident, Literal, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{
    FnArg, GenericArgument, GenericParam, ItemFn, LitStr, Pat, PathArguments, ReturnType, Type,
    WherePredicate,
};

use crate::code_hash::code_hash;
use crate::diag::Errors;
use crate::discover::{Calls, probe_module};
use crate::helper::site_marker;
use crate::item::{build_nonce, cfg_attrs, content_hash_literal, deps_array, parse_fn, runtime};
use crate::options::{self, DEFAULT_BACKOFF_NANOS, MacroKind, Options};

/// The most inputs a step can have (`StepInputs` is implemented for tuples up to this size).
const MAX_INPUTS: usize = 12;

/// Expands `#[step(attr)] item`.
///
/// Option mistakes alone still produce the full expansion (invalid options fall back to their
/// defaults) followed by the errors, so the rest of the crate type-checks and every mistake,
/// including non-artifact types, is reported in one compile. Signature mistakes produce the
/// function unchanged, the errors, and a placeholder `FooStep` (see [`placeholder`]), so that
/// uses of `FooStep` do not fail with follow-on errors.
pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let options = options::parse(attr, MacroKind::Step, &mut errors);
    let Some(func) = parse_fn(item.clone(), MacroKind::Step, &mut errors) else {
        return Err(errors.take().expect("parse_fn reports why it failed"));
    };
    let mut sig_errors = Errors::default();
    let signature = analyze(&func, &mut sig_errors);
    if let Some(error) = sig_errors.take() {
        errors.push(error);
        let error = errors.take().expect("just pushed");
        return Ok(placeholder(&func, &item, &options, error));
    }
    let generated = generate(&func, &signature, &options, code_hash(&item));
    let option_errors = errors.take().map(|e| e.to_compile_error());
    // Two clippy lints do not fit step functions: a step borrows the artifact `T` as `&T`, so
    // `&Vec<f64>` and `&String` are required (`ptr_arg` suggests `&[f64]` / `&str`), and each
    // argument is one input wired from its own node (`too_many_arguments` suggests a struct).
    let allow =
        (!signature.inputs.is_empty()).then(|| quote!(#[allow(clippy::ptr_arg, clippy::too_many_arguments)]));
    Ok(quote!(#allow #item #generated #option_errors))
}

/// The expansion for a function whose signature cannot be a step: the function as written, the
/// errors, and `FooStep` with a `Step` impl that is never called, so that uses of `FooStep` raise
/// no follow-on "cannot find" errors.
///
/// The impl's types are the ones the function most likely means (`T` for `&mut T`, `String` for
/// `&str`, `T` for `Result<T, E>`, ...), so that wiring written for the corrected function
/// type-checks; a type that cannot be told (it names a type parameter, is `impl Trait` or
/// borrows) becomes `StepSignatureError`.
fn placeholder(func: &ItemFn, item: &TokenStream, options: &Options, error: syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    // A method: there is no place for the struct inside an impl block.
    if matches!(func.sig.inputs.first(), Some(FnArg::Receiver(_))) {
        return quote!(#item #errors);
    }
    let fn_name = func.sig.ident.unraw().to_string();
    let struct_ident = Ident::new(&struct_name(&fn_name), func.sig.ident.span());
    let vis = &func.vis;
    let cfgs = cfg_attrs(func);
    let rt = runtime(options.krate.as_ref());
    let generics: Vec<String> = func
        .sig
        .generics
        .params
        .iter()
        .filter_map(|p| match p {
            GenericParam::Type(t) => Some(t.ident.to_string()),
            GenericParam::Const(c) => Some(c.ident.to_string()),
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    let unknown = quote!(#rt::StepSignatureError);
    let guess = |ty: &Type| -> TokenStream {
        let mut ty = strip_groups(ty);
        if let Type::Reference(r) = ty {
            if let Some((owned, _)) = borrowed_form(&r.elem) {
                return owned.parse().unwrap_or_else(|_| unknown.clone());
            }
            ty = strip_groups(&r.elem);
        }
        let mut finder = Borrows::default();
        finder.visit_type(ty);
        let names_generic = ty
            .to_token_stream()
            .into_iter()
            .any(|t| matches!(&t, proc_macro2::TokenTree::Ident(i) if generics.contains(&i.to_string())));
        if finder.found.is_some() || names_generic { unknown.clone() } else { ty.to_token_stream() }
    };
    let typed: Vec<&Type> = func
        .sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(t) => Some(&*t.ty),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let inputs: Vec<TokenStream> = if typed.len() > MAX_INPUTS {
        vec![unknown.clone()]
    } else {
        typed.iter().map(|ty| guess(ty)).collect()
    };
    let output = match &func.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => match result_ok_type(strip_groups(ty)) {
            Some((ok, _)) => guess(&ok),
            None if matches!(strip_groups(ty), Type::Never(_)) => quote!(()),
            None => guess(ty),
        },
    };
    let doc =
        format!(" The pipeline step for `{fn_name}` (a placeholder: the function's signature has errors).");
    quote! {
        #item

        #errors

        #(#cfgs)*
        #[doc = #doc]
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug, ::core::default::Default)]
        #vis struct #struct_ident;

        #(#cfgs)*
        impl #rt::Step for #struct_ident {
            type Inputs = (#(#inputs,)*);
            type Output = #output;
            const NAME: &'static ::core::primitive::str = #fn_name;
            const CODE_HASH: #rt::ContentHash = #rt::ContentHash::from_bytes([0; 32]);
            const CRATE: #rt::CrateId = #rt::CrateId { name: "", version: "" };

            fn call(
                &self,
                _: <Self::Inputs as #rt::StepInputs>::Refs<'_>,
            ) -> #rt::Result<Self::Output, #rt::StepError> {
                ::core::unreachable!("the signature of `{}` has errors", #fn_name)
            }
        }
    }
}

/// One argument of the step function.
struct Input {
    /// The artifact type: `T` for both `x: &T` and `x: T`.
    ty: Type,
    /// `x: &T` (pass the reference) rather than `x: T` (pass a clone).
    by_ref: bool,
}

/// How the function's return value becomes the step's result.
enum Output {
    /// No return type, or `-> ()`.
    Unit(Option<Type>),
    /// `-> T`.
    Plain(Type),
    /// `-> Result<T, E>` or `-> SomeAlias::Result<T>`: the step's output is `ok`; `whole` is the
    /// return type as written.
    Result { ok: Type, whole: Box<Type> },
}

/// The function's signature, checked.
struct Signature {
    inputs: Vec<Input>,
    output: Output,
}

/// Checks everything a step function must satisfy, reporting every violation.
fn analyze(func: &ItemFn, errors: &mut Errors) -> Signature {
    let sig = &func.sig;
    let name = sig.ident.unraw().to_string();
    if let Some(token) = &sig.asyncness {
        errors.spanned(
            token,
            format!("#[step] functions cannot be async: make `{name}` synchronous; steps run on the executor's thread pool (block on a future inside the function if you must)"),
        );
    }
    if let syn::Safety::Unsafe(token) = &sig.safety {
        errors.spanned(
            token,
            format!("#[step] functions cannot be unsafe: the executor calls `{name}` without an `unsafe` block; make `{name}` safe and use `unsafe` blocks inside it"),
        );
    }
    for param in &sig.generics.params {
        match param {
            // Fine on the argument references (`x: &'a T`); anywhere else `check_owned` reports it.
            GenericParam::Lifetime(_) => {}
            GenericParam::Type(t) => errors.spanned(
                param,
                format!("#[step] functions cannot be generic: `{name}` has the type parameter `{}`; a step needs concrete input and output types. Keep the generic function and add a non-generic #[step] function that calls it with concrete types", t.ident),
            ),
            GenericParam::Const(c) => errors.spanned(
                param,
                format!("#[step] functions cannot be generic: `{name}` has the const parameter `{}`; a step needs concrete input and output types. Keep the generic function and add a non-generic #[step] function that calls it with a concrete value", c.ident),
            ),
        }
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        for predicate in &where_clause.predicates {
            if !matches!(predicate, WherePredicate::Lifetime(_)) {
                errors.spanned(
                    predicate,
                    format!("#[step] functions cannot have `where` bounds on types: a step needs concrete input and output types; remove the bound from `{name}`"),
                );
            }
        }
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(
            variadic,
            format!("#[step] functions cannot be variadic: give `{name}` one argument per input"),
        );
    }

    let mut inputs = Vec::new();
    for (index, arg) in sig.inputs.iter().enumerate() {
        let pat_type = match arg {
            FnArg::Receiver(receiver) => {
                errors.spanned(
                    receiver,
                    format!("#[step] must be on a free function, not a method: `{name}` takes `self`. Move it out of the impl block and take the value as an ordinary argument (`x: &T`)"),
                );
                continue;
            }
            FnArg::Typed(pat_type) => pat_type,
        };
        if index == MAX_INPUTS {
            errors.spanned(
                arg,
                format!("a step takes at most {MAX_INPUTS} inputs, and `{name}` has {}: group some of them into one struct artifact", sig.inputs.len()),
            );
        }
        let arg_name = match &*pat_type.pat {
            Pat::Ident(p) => format!("argument `{}`", p.ident.unraw()),
            _ => format!("argument {}", index + 1),
        };
        let ty = strip_groups(&pat_type.ty);
        let input = match ty {
            Type::Reference(r) => {
                if r.mutability.is_some() {
                    errors.spanned(
                        r,
                        format!("#[step] arguments cannot be `&mut`: {arg_name} of `{name}` borrows mutably, but inputs are shared artifacts that other steps may read at the same time. Take `&T` to borrow it, or `T` to receive your own clone"),
                    );
                    continue;
                }
                if let Some(lifetime) = &r.lifetime
                    && lifetime.ident == "static"
                {
                    errors.spanned(
                            r,
                            format!("{arg_name} of `{name}` borrows for `'static`, but a step's inputs are borrowed only for the call: write `&T` instead of `&'static T`"),
                        );
                    continue;
                }
                if let Some((owned, artifact)) = borrowed_form(&r.elem) {
                    errors.spanned(
                        r,
                        format!("`{}` cannot be a step input: take `&{owned}` (the artifact is a `{artifact}`); {arg_name} of `{name}` borrows the input artifact, which is an owned, stored value", pretty(&r.to_token_stream())),
                    );
                    continue;
                }
                Input { ty: (*r.elem).clone(), by_ref: true }
            }
            _ => Input { ty: ty.clone(), by_ref: false },
        };
        check_owned(&input.ty, &format!("{arg_name} of `{name}`"), "input", errors);
        inputs.push(input);
    }

    let output = match &sig.output {
        ReturnType::Default => Output::Unit(None),
        ReturnType::Type(_, ty) => {
            let ty = strip_groups(ty);
            match result_ok_type(ty) {
                Some((ok, err)) => {
                    check_owned(&ok, &format!("the output of `{name}`"), "output", errors);
                    if let Some(err) = err {
                        check_no_impl_trait(&err, &format!("the error type of `{name}`"), errors);
                    }
                    Output::Result { ok, whole: Box::new(ty.clone()) }
                }
                None if matches!(ty, Type::Tuple(t) if t.elems.is_empty()) => Output::Unit(Some(ty.clone())),
                None if matches!(ty, Type::Never(_)) => {
                    errors.spanned(ty, format!("#[step] functions must return: `{name}` returns `!`; return the output artifact, or `()` if there is none"));
                    Output::Unit(None)
                }
                None => {
                    check_owned(ty, &format!("the output of `{name}`"), "output", errors);
                    Output::Plain(ty.clone())
                }
            }
        }
    };
    Signature { inputs, output }
}

/// For the unsized targets of a borrowed input (`str`, `[T]`, `Path`, `OsStr`, `CStr`): the
/// type to borrow instead and the artifact type, as text.
fn borrowed_form(elem: &Type) -> Option<(String, String)> {
    let owned = match strip_groups(elem) {
        Type::Slice(slice) => format!("Vec<{}>", pretty(&slice.elem.to_token_stream())),
        Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?;
            if !last.arguments.is_none() {
                return None;
            }
            match last.ident.to_string().as_str() {
                "str" => "String".to_owned(),
                "Path" => "PathBuf".to_owned(),
                "OsStr" => "OsString".to_owned(),
                "CStr" => "CString".to_owned(),
                _ => return None,
            }
        }
        _ => return None,
    };
    Some((owned.clone(), owned))
}

/// Looks through invisible groups (types passed through `macro_rules!` fragments) and parentheses.
fn strip_groups(ty: &Type) -> &Type {
    match ty {
        Type::Group(g) => strip_groups(&g.elem),
        Type::Paren(p) => strip_groups(&p.elem),
        _ => ty,
    }
}

/// For `Result<T, E>`: `T` and `E`; for a one-argument alias like `io::Result<T>`: `T`.
fn result_ok_type(ty: &Type) -> Option<(Type, Option<Type>)> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    let types: Vec<&Type> = args
        .args
        .iter()
        .map(|a| match a {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .collect::<Option<_>>()?;
    match types.as_slice() {
        [ok] => Some(((*ok).clone(), None)),
        [ok, err] => Some(((*ok).clone(), Some((*err).clone()))),
        _ => None,
    }
}

/// Reports an artifact type that borrows (a reference or a lifetime other than `'static`) or is
/// `impl Trait`: artifacts are owned values that outlive the call.
fn check_owned(ty: &Type, what: &str, role: &str, errors: &mut Errors) {
    let mut finder = Borrows::default();
    finder.visit_type(ty);
    if let Some((tokens, problem)) = finder.found {
        let message = match problem {
            Problem::ImplTrait => format!(
                "{what} is `impl Trait`: a step's {role} must be a concrete artifact type; name the type"
            ),
            Problem::Reference => format!(
                "{what} contains the reference `{}`: a step's {role} must be an owned artifact type (it is stored and shared between steps); use an owned type, e.g. `String` for `&str` or `Vec<T>` for `&[T]`",
                pretty(&tokens)
            ),
            Problem::Lifetime => format!(
                "{what} borrows for `{}`: a step's {role} must be an owned artifact type without lifetimes (it is stored and shared between steps); use an owned type",
                pretty(&tokens)
            ),
        };
        errors.spanned(tokens, message);
    }
}

/// Reports `impl Trait` anywhere in `ty`.
fn check_no_impl_trait(ty: &Type, what: &str, errors: &mut Errors) {
    let mut finder = Borrows::default();
    finder.visit_type(ty);
    if let Some((tokens, Problem::ImplTrait)) = finder.found {
        errors.spanned(
            tokens,
            format!("{what} is `impl Trait`: a step's error type must be a concrete type; name the type"),
        );
    }
}

/// Source-like text of tokens (`& str`, not `& str`), for messages.
fn pretty(tokens: &TokenStream) -> String {
    let text = tokens.to_string();
    text.replace("& ", "&")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace(" :: ", "::")
        .replace("' ", "'")
}

enum Problem {
    ImplTrait,
    Reference,
    Lifetime,
}

/// Finds the first borrow or `impl Trait` in a type.
#[derive(Default)]
struct Borrows {
    found: Option<(TokenStream, Problem)>,
}

impl<'ast> Visit<'ast> for Borrows {
    fn visit_type_impl_trait(&mut self, node: &'ast syn::TypeImplTrait) {
        if self.found.is_none() {
            self.found = Some((node.to_token_stream(), Problem::ImplTrait));
        }
    }

    fn visit_type_reference(&mut self, node: &'ast syn::TypeReference) {
        let is_static = node.lifetime.as_ref().is_some_and(|l| l.ident == "static");
        if self.found.is_none() && !is_static {
            self.found = Some((node.to_token_stream(), Problem::Reference));
        }
        syn::visit::visit_type_reference(self, node);
    }

    fn visit_lifetime(&mut self, node: &'ast syn::Lifetime) {
        if self.found.is_none() && node.ident != "static" {
            self.found = Some((node.to_token_stream(), Problem::Lifetime));
        }
    }

    fn visit_type_fn_ptr(&mut self, _: &'ast syn::TypeFnPtr) {
        // Function pointers have their own (higher-ranked) lifetimes; they are not artifacts
        // anyway, which the `Artifact` check reports.
    }
}

/// `const _: () = { ... };` failing at `ty`'s span, with our message, when `ty` does not satisfy
/// `bound`. The message comes from a trait defined right there (the user's crate), marked
/// `#[diagnostic::on_unimplemented]` and implemented for everything that satisfies `bound`.
fn local_check(ty: &Type, bound: TokenStream, message: &str, label: &str, note: &str) -> TokenStream {
    let check = quote_spanned!(ty.span()=> __mlflow_check::<#ty>(););
    quote! {
        const _: () = {
            #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
            trait __MlflowRequirement {}
            impl<T: ?::core::marker::Sized + #bound> __MlflowRequirement for T {}
            const fn __mlflow_check<T: ?::core::marker::Sized + __MlflowRequirement>() {}
            #check
        };
    }
}

/// Checks that the error type of `-> Result<T, E>` (or of an alias like `io::Result<T>`, whose `E`
/// only rustc knows) converts into `Box<dyn Error + Send + Sync>`, reporting it at the return
/// type with our message.
fn error_type_check(whole: &Type, fn_name: &str) -> TokenStream {
    let message = format!(
        "`{{Self}}` cannot be the error type of step `{fn_name}`: it must implement `std::error::Error + Send + Sync + 'static`"
    );
    let label = "`{Self}` is not an `Error + Send + Sync + 'static`";
    let note = "implement `std::error::Error` for `{Self}` (for example with `thiserror`) and keep it `Send + Sync + 'static`, or return `Box<dyn std::error::Error + Send + Sync>` or `String` as the error";
    let not_result = format!(
        "`{{Self}}` is not a `std::result::Result`: step `{fn_name}` returns a type named `Result`, so it must be `std::result::Result<T, E>` or an alias of it"
    );
    // `<` spanned at the type's first token and `Error` at its last, so rustc underlines the type.
    let last = whole.to_token_stream().into_iter().last().map_or_else(|| whole.span(), |t| t.span());
    let error = Ident::new("Error", last);
    let check = quote_spanned!(whole.span()=> __mlflow_check::< <#whole as __MlflowErrorOf>::#error >(););
    quote! {
        const _: () = {
            #[diagnostic::on_unimplemented(message = #not_result)]
            trait __MlflowErrorOf {
                type Error: ?::core::marker::Sized;
            }
            impl<T, E> __MlflowErrorOf for ::core::result::Result<T, E> {
                type Error = E;
            }
            #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
            trait __MlflowRequirement {}
            impl<E> __MlflowRequirement for E
            where
                E: ::core::convert::Into<
                    ::std::boxed::Box<dyn ::core::error::Error + ::core::marker::Send + ::core::marker::Sync>,
                >,
            {
            }
            const fn __mlflow_check<E: __MlflowRequirement>() {}
            #check
        };
    }
}

/// The types, without repeats (compared by their tokens), in order of first appearance.
fn distinct<'a>(types: impl Iterator<Item = &'a Type>) -> Vec<&'a Type> {
    let mut seen = std::collections::BTreeSet::new();
    types.filter(|ty| seen.insert(ty.to_token_stream().to_string())).collect()
}

/// `load_csv` -> `LoadCsv`.
fn upper_camel(name: &str) -> String {
    let camel: String = name
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect();
    if camel.starts_with(|c: char| c.is_ascii_digit()) { format!("_{camel}") } else { camel }
}

/// The name of the generated struct for the function `name`: `FooStep` for `foo`.
pub fn struct_name(name: &str) -> String {
    format!("{}Step", upper_camel(name))
}

fn nanos(n: u64, rt: &TokenStream) -> TokenStream {
    let n = Literal::u64_unsuffixed(n);
    quote!(#rt::Duration::from_nanos(#n))
}

/// The struct, the `Step` impl and the artifact checks.
fn generate(func: &ItemFn, sig: &Signature, options: &Options, hash: [u8; 32]) -> TokenStream {
    let fn_ident = &func.sig.ident;
    let fn_name = fn_ident.unraw().to_string();
    let struct_ident = Ident::new(&struct_name(&fn_name), fn_ident.span());
    let vis = &func.vis;
    let cfgs = cfg_attrs(func);
    let rt = runtime(options.krate.as_ref());

    let link = if fn_ident.to_string().starts_with("r#") {
        format!("`{fn_name}`")
    } else {
        format!("[`{fn_name}`](fn@{fn_name})")
    };
    let doc = format!(
        " The pipeline step for the function {link}, generated by `#[step]`.\n\n Pass `{struct_ident}` to `Pipeline::step` to add the step to a pipeline; call `{fn_name}` directly to unit-test the function itself."
    );

    let step_name = match &options.name {
        Some(name) => name.clone(),
        None => LitStr::new(&fn_name, fn_ident.span()),
    };
    let code_hash = content_hash_literal(hash, &rt);
    let version = Literal::u32_unsuffixed(options.version.unwrap_or(0));
    let dep_paths: Vec<&syn::Path> = options.deps.iter().collect();
    let deps_block = deps_array(&dep_paths, MacroKind::Step, &rt);
    let deps_const = format_ident!("__MLFLOW_DEPS_OF_{}", fn_name.to_uppercase());
    let calls = Calls::collect(func, &dep_paths);
    let site = site_marker(&fn_name, &hash);
    let (probe, probe_module) = probe_module(&fn_name, &calls, &rt, &site, build_nonce());
    let cache = options.cache.unwrap_or(true);
    let retries = Literal::u32_unsuffixed(options.retries.unwrap_or(0));
    let backoff = nanos(options.backoff.unwrap_or(DEFAULT_BACKOFF_NANOS), &rt);
    let timeout = match options.timeout {
        Some(t) => {
            let t = nanos(t, &rt);
            quote!(#rt::Some(#t))
        }
        None => quote!(#rt::None),
    };
    let cpu = match options.cpu {
        Some(millis) => {
            let millis = Literal::u32_unsuffixed(millis);
            quote!(#rt::Some(#millis))
        }
        None => quote!(#rt::None),
    };
    let memory = match options.memory {
        Some(bytes) => {
            let bytes = Literal::u64_unsuffixed(bytes);
            quote!(#rt::Some(#bytes))
        }
        None => quote!(#rt::None),
    };

    // `type Inputs = (A, B,);`, the tuple's parentheses spanned at the function's argument list.
    let input_types = sig.inputs.iter().map(|input| &input.ty);
    let mut inputs_tuple = Group::new(Delimiter::Parenthesis, quote!(#(#input_types,)*));
    inputs_tuple.set_span(func.sig.paren_token.span.join());

    let output_type = match &sig.output {
        Output::Unit(Some(ty)) => ty.to_token_stream(),
        Output::Unit(None) => quote!(()),
        Output::Plain(ty) | Output::Result { ok: ty, .. } => ty.to_token_stream(),
    };

    let bindings: Vec<Ident> = (0..sig.inputs.len()).map(|i| format_ident!("__mlflow_input_{}", i)).collect();
    let args = sig.inputs.iter().zip(&bindings).map(|(input, binding)| {
        if input.by_ref {
            quote!(#binding)
        } else {
            let span = input.ty.span();
            let binding = Ident::new(&binding.to_string(), span);
            quote_spanned!(span=> #rt::Clone::clone(#binding))
        }
    });
    let call = quote!(#fn_ident(#(#args),*));
    let body = match &sig.output {
        Output::Unit(_) => quote! {
            #call;
            #rt::Ok(())
        },
        Output::Plain(_) => quote!(#rt::Ok(#call)),
        Output::Result { whole, .. } => {
            quote_spanned!(whole.span()=> #rt::StepResult::into_step_result(#call))
        }
    };
    let inputs_param = if bindings.is_empty() { quote!(_) } else { quote!((#(#bindings,)*)) };

    let output_artifact = match &sig.output {
        Output::Plain(ty) | Output::Result { ok: ty, .. } => Some(ty),
        Output::Unit(_) => None,
    };
    // Each distinct type once: a wrong type used twice is reported once, at its first use.
    let artifact_types = distinct(sig.inputs.iter().map(|input| &input.ty).chain(output_artifact));
    let owned_inputs = distinct(sig.inputs.iter().filter(|i| !i.by_ref).map(|i| &i.ty));

    // The impl holds only if every type is what it must be. These bounds are higher-ranked, so
    // rustc does not check them where the impl is defined; it assumes them inside the impl. A
    // wrong type is then reported once, by the checks below, at the user's type and with our
    // message, instead of again at every place inside the impl that needs the bound.
    let mut bounds = Vec::new();
    for ty in &artifact_types {
        bounds.push(quote!(for<'__mlflow> #ty: #rt::Artifact));
    }
    for ty in &owned_inputs {
        bounds.push(quote!(for<'__mlflow> #ty: #rt::Clone));
    }
    if let Output::Result { ok, whole } = &sig.output {
        bounds.push(quote!(for<'__mlflow> #whole: #rt::StepResult<Ok = #ok>));
    }

    // One check per requirement, spanned at the type, so that rustc reports a wrong type there.
    let mut checks: Vec<TokenStream> = artifact_types
        .iter()
        .map(|ty| quote_spanned!(ty.span()=> const _: () = #rt::assert_artifact::<#ty>();))
        .collect();
    for ty in &owned_inputs {
        checks.push(local_check(
            ty,
            quote!(#rt::Clone),
            &format!("step `{fn_name}` takes `{{Self}}` by value, so `{{Self}}` must implement `Clone`"),
            "`{Self}` is not `Clone`",
            "the step receives its own clone of the shared input artifact: derive `Clone` for `{Self}`, or take `&{Self}` to borrow the artifact instead",
        ));
    }
    if let Output::Result { whole, .. } = &sig.output {
        checks.push(error_type_check(whole, &fn_name));
    }
    let checks = checks.iter().map(|check| quote!(#(#cfgs)* #check));

    quote! {
        #(#cfgs)*
        #[doc = #doc]
        #[derive(
            ::core::clone::Clone,
            ::core::marker::Copy,
            ::core::fmt::Debug,
            ::core::default::Default,
        )]
        #vis struct #struct_ident;

        #(#cfgs)*
        impl #rt::Step for #struct_ident
        where
            #(#bounds,)*
        {
            type Inputs = #inputs_tuple;
            type Output = #output_type;
            const NAME: &'static ::core::primitive::str = #step_name;
            const CODE_HASH: #rt::ContentHash = #code_hash;
            const VERSION: ::core::primitive::u32 = #version;
            const DEPS: &'static [fn() -> #rt::ContentHash] = #deps_const.0;
            const OPTIONS: #rt::StepOptions = #rt::StepOptions {
                cache: #cache,
                retries: #retries,
                backoff: #backoff,
                timeout: #timeout,
                resources: #rt::Resources { cpu_millis: #cpu, memory_bytes: #memory },
            };
            const CRATE: #rt::CrateId = #rt::CrateId {
                name: ::core::env!("CARGO_PKG_NAME"),
                version: ::core::env!("CARGO_PKG_VERSION"),
            };

            fn call(
                &self,
                #inputs_param: <Self::Inputs as #rt::StepInputs>::Refs<'_>,
            ) -> #rt::Result<Self::Output, #rt::StepError> {
                #body
            }

            fn helpers() -> #rt::Vec<#rt::HelperHash> {
                let mut roots = #probe::__mlflow_helpers();
                roots.extend(#deps_const.1.iter().map(|helper_ref| helper_ref()));
                #rt::collect_helpers(roots)
            }
        }

        #(#cfgs)*
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        const #deps_const: (&[fn() -> #rt::ContentHash], &[fn() -> #rt::HelperRef]) = #deps_block;

        #(#cfgs)*
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        struct #site;

        #(#cfgs)*
        impl #rt::Site for #site {}

        #(#cfgs)*
        #probe_module

        #(#checks)*
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(attr: &str, item: &str) -> syn::Result<String> {
        expand(attr.parse().unwrap(), item.parse().unwrap()).map(|t| t.to_string())
    }

    fn errors(attr: &str, item: &str) -> Vec<String> {
        match expand(attr.parse().unwrap(), item.parse().unwrap()) {
            Ok(tokens) => {
                // Option errors come back inside the expansion, as `compile_error!`s.
                let text = tokens.to_string();
                text.match_indices("compile_error !")
                    .map(|(i, _)| {
                        let rest = &text[i..];
                        let start = rest.find('"').unwrap() + 1;
                        let end = rest[start..].find("\" }").unwrap();
                        rest[start..start + end].to_owned()
                    })
                    .collect()
            }
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn names() {
        assert_eq!(struct_name("foo"), "FooStep");
        assert_eq!(struct_name("load_csv"), "LoadCsvStep");
        assert_eq!(struct_name("train_rf2"), "TrainRf2Step");
        assert_eq!(struct_name("_private_thing"), "PrivateThingStep");
        assert_eq!(struct_name("a__b"), "ABStep");
        assert_eq!(struct_name("loadCSV"), "LoadCSVStep");
        assert_eq!(struct_name("_1st"), "_1stStep");
    }

    #[test]
    fn expansion_shape() {
        let out = expand_str(
            "name = \"features\", version = 2, deps = [norm], cache = false, retries = 3, backoff = \"1s\", timeout = \"2m\", cpu = \"1.5\", memory = \"1Gi\"",
            "pub(crate) fn engineer(raw: &Raw, k: u32) -> Result<Features, DataError> { todo!() }",
        )
        .unwrap();
        for expected in [
            "pub (crate) fn engineer",
            "pub (crate) struct EngineerStep ;",
            "impl :: mlflow :: __private :: Step for EngineerStep",
            "type Inputs = (Raw , u32 ,) ;",
            "type Output = Features ;",
            "const NAME : & 'static :: core :: primitive :: str = \"features\" ;",
            "const VERSION : :: core :: primitive :: u32 = 2 ;",
            "use norm as __not_a_helper_0 ;",
            "(& [< __not_a_helper_0 as __MlflowIsHelper0 > :: code_hash] , & [< __not_a_helper_0 as __MlflowIsHelper0 > :: helper_ref]) }",
            "const DEPS : & 'static [fn () -> :: mlflow :: __private :: ContentHash] = __MLFLOW_DEPS_OF_ENGINEER . 0 ;",
            "cache : false , retries : 3 , backoff : :: mlflow :: __private :: Duration :: from_nanos (1000000000) , timeout : :: mlflow :: __private :: Some (:: mlflow :: __private :: Duration :: from_nanos (120000000000))",
            "resources : :: mlflow :: __private :: Resources { cpu_millis : :: mlflow :: __private :: Some (1500) , memory_bytes : :: mlflow :: __private :: Some (1073741824) } ,",
            ":: mlflow :: __private :: StepResult :: into_step_result (engineer (__mlflow_input_0 , :: mlflow :: __private :: Clone :: clone (__mlflow_input_1)))",
            "const _ : () = :: mlflow :: __private :: assert_artifact :: < Raw > () ;",
            "const _ : () = :: mlflow :: __private :: assert_artifact :: < u32 > () ;",
            "const _ : () = :: mlflow :: __private :: assert_artifact :: < Features > () ;",
            "impl :: mlflow :: __private :: Step for EngineerStep where for < '__mlflow > Raw : :: mlflow :: __private :: Artifact , for < '__mlflow > u32 : :: mlflow :: __private :: Artifact , for < '__mlflow > Features : :: mlflow :: __private :: Artifact , for < '__mlflow > u32 : :: mlflow :: __private :: Clone , for < '__mlflow > Result < Features , DataError > : :: mlflow :: __private :: StepResult < Ok = Features > , {",
            "__mlflow_check :: < u32 > () ;",
            "__mlflow_check :: < < Result < Features , DataError > as __MlflowErrorOf > :: Error > () ;",
        ] {
            assert!(out.contains(expected), "missing {expected:?} in\n{out}");
        }
    }

    #[test]
    fn defaults_zero_args_and_plain_outputs() {
        let out = expand_str("", "fn seed() -> u64 { 42 }").unwrap();
        assert!(out.contains("struct SeedStep ;"), "{out}");
        assert!(out.contains("type Inputs = () ;"), "{out}");
        assert!(out.contains("type Output = u64 ;"), "{out}");
        assert!(out.contains("const NAME : & 'static :: core :: primitive :: str = \"seed\" ;"), "{out}");
        assert!(out.contains("cache : true , retries : 0 , backoff : :: mlflow :: __private :: Duration :: from_nanos (100000000) , timeout : :: mlflow :: __private :: None"), "{out}");
        assert!(out.contains("resources : :: mlflow :: __private :: Resources { cpu_millis : :: mlflow :: __private :: None , memory_bytes : :: mlflow :: __private :: None }"), "{out}");
        assert!(
            out.contains("const __MLFLOW_DEPS_OF_SEED : (& [fn () -> :: mlflow :: __private :: ContentHash] , & [fn () -> :: mlflow :: __private :: HelperRef]) = (& [] , & []) ;"),
            "{out}"
        );
        assert!(out.contains("fn call (& self , _ :"), "{out}");
        assert!(out.contains(":: mlflow :: __private :: Ok (seed ())"), "{out}");

        let out = expand_str("", "fn log_it(x: &String) { println!(\"{x}\") }").unwrap();
        assert!(out.contains("type Output = () ;"), "{out}");
        assert!(out.contains("log_it (__mlflow_input_0) ; :: mlflow :: __private :: Ok (())"), "{out}");

        let out = expand_str("", "fn read(path: &String) -> std::io::Result<Vec<u8>> { todo!() }").unwrap();
        assert!(out.contains("type Output = Vec < u8 > ;"), "{out}");
        assert!(out.contains("into_step_result (read (__mlflow_input_0))"), "{out}");

        // A `Result` with other than one or two type arguments is a plain output.
        let out = expand_str("", "fn odd() -> my::Result { todo!() }").unwrap();
        assert!(out.contains("type Output = my :: Result ;"), "{out}");
        assert!(out.contains(":: mlflow :: __private :: Ok (odd ())"), "{out}");
    }

    #[test]
    fn the_function_is_kept_verbatim() {
        let item = "/// docs\n#[inline] pub fn twice(x: &u64) -> u64 { x * 2 }";
        let out = expand_str("", item).unwrap();
        let original: TokenStream = item.parse().unwrap();
        // Only lint allowances are added (see `expand`), and only when there are inputs.
        let expected = format!("# [allow (clippy :: ptr_arg , clippy :: too_many_arguments)] {original}");
        assert!(out.starts_with(&expected), "{out}");
        let item = "fn no_inputs() -> u64 { 2 }";
        let out = expand_str("", item).unwrap();
        assert!(out.starts_with(&item.parse::<TokenStream>().unwrap().to_string()), "{out}");
    }

    #[test]
    fn code_hash_ignores_formatting_but_not_edits() {
        let hash_of = |item: &str| {
            let out = expand_str("", item).unwrap();
            let start = out.find("from_bytes").unwrap();
            out[start..start + out[start..].find(']').unwrap()].to_owned()
        };
        let a = hash_of("fn f(x: &u64) -> u64 { x + 1 }");
        let b = hash_of("/// doc\nfn f( x : &u64 )->u64{\n    // comment\n    x+1\n}");
        let c = hash_of("fn f(x: &u64) -> u64 { x + 2 }");
        assert_eq!(a, b);
        assert_ne!(a, c);
        // Options are not part of the code hash.
        let out = expand_str("version = 9, retries = 2", "fn f(x: &u64) -> u64 { x + 1 }").unwrap();
        assert!(out.contains(&a));
    }

    #[test]
    fn each_type_is_checked_once() {
        let out = expand_str("", "fn f(a: &u8, b: &u8, c: u8, d: u8) -> u8 { 0 }").unwrap();
        assert_eq!(out.matches("assert_artifact :: < u8 >").count(), 1, "{out}");
        assert_eq!(out.matches("__mlflow_check :: < u8 >").count(), 1, "{out}");
        assert_eq!(out.matches("u8 : :: mlflow :: __private :: Artifact").count(), 1, "{out}");
    }

    #[test]
    fn cfg_attributes_are_copied() {
        let out = expand_str("", "#[cfg(feature = \"x\")] fn f() {}").unwrap();
        // The function, the struct, the `Step` impl, the deps const, the site marker and its
        // impl, the probe.
        assert_eq!(out.matches("# [cfg (feature = \"x\")]").count(), 7, "{out}");
    }

    #[test]
    fn signature_errors_are_all_reported() {
        let e = errors(
            "retries = -1, colour = 1",
            "async unsafe fn f<'a, T, const N: usize>(&self, a: &mut u8, b: impl Clone, c: &'static str, d: &'a Vec<&'a str>) -> impl Send where T: Clone { todo!() }",
        );
        let expected = [
            "`retries` takes a non-negative integer",
            "unknown #[step] option `colour`",
            "cannot be async: make `f` synchronous",
            "cannot be unsafe",
            "type parameter `T`",
            "const parameter `N`",
            "cannot have `where` bounds",
            "not a method: `f` takes `self`",
            "cannot be `&mut`: argument `a` of `f`",
            "argument `b` of `f` is `impl Trait`",
            "argument `c` of `f` borrows for `'static`",
            "argument `d` of `f` contains the reference `&'a str`",
            "the output of `f` is `impl Trait`",
        ];
        assert_eq!(e.len(), expected.len(), "{e:#?}");
        for (error, expected) in e.iter().zip(expected) {
            assert!(error.contains(expected), "expected {expected:?} in {error:?}");
        }
    }

    #[test]
    fn lifetimes_on_argument_references_are_fine() {
        let out = expand_str(
            "",
            "fn f<'a, 'b: 'a>(x: &'a String, y: &'b u8, z: &'_ u8) -> usize where 'a: 'b { 0 }",
        )
        .unwrap();
        assert!(out.contains("type Inputs = (String , u8 , u8 ,) ;"), "{out}");
        let e = errors("", "fn f<'a>(x: &'a String) -> Cow<'a, str> { todo!() }");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("the output of `f` borrows for `'a`"), "{e:?}");
        let e = errors("", "fn f(x: &Wrapper<'_>) -> u8 { 0 }");
        assert!(e[0].contains("argument `x` of `f` borrows for `'_`"), "{e:?}");
    }

    #[test]
    fn other_errors() {
        let e = errors("", "struct S;");
        assert_eq!(
            e,
            [
                "#[step] can only be applied to a free function, not a struct: write `#[step] fn name(a: &A, b: B) -> Out { ... }`"
            ]
        );
        let args: Vec<String> = (0..13).map(|i| format!("a{i}: &u8")).collect();
        let e = errors("", &format!("fn many({}) {{}}", args.join(", ")));
        assert_eq!(e.len(), 1);
        assert!(e[0].contains("at most 12 inputs, and `many` has 13"), "{e:?}");
        let e = errors("", "fn f() -> ! { loop {} }");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("`f` returns `!`"), "{e:?}");
        let e = errors("", "fn f(x: &Vec<u8>) -> &str { todo!() }");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("the output of `f` contains the reference `&str`"), "{e:?}");
    }

    #[test]
    fn borrowed_unsized_inputs_suggest_the_owned_artifact() {
        let e = errors("", "fn f(name: &str, xs: &[f64], p: &std::path::Path, ok: &String) {}");
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(
            e[0].starts_with("`&str` cannot be a step input: take `&String` (the artifact is a `String`)"),
            "{e:?}"
        );
        assert!(
            e[1].starts_with(
                "`&[f64]` cannot be a step input: take `&Vec<f64>` (the artifact is a `Vec<f64>`)"
            ),
            "{e:?}"
        );
        assert!(e[2].starts_with("`&std::path::Path` cannot be a step input: take `&PathBuf`"), "{e:?}");
    }

    #[test]
    fn signature_errors_keep_a_placeholder_struct() {
        let out = expand_str("", "pub fn shuffle(rows: &mut Vec<u32>, name: &str) -> usize { rows.len() }")
            .unwrap();
        assert!(out.contains("compile_error !"), "{out}");
        assert!(out.contains("pub struct ShuffleStep ;"), "{out}");
        assert!(out.contains("type Inputs = (Vec < u32 > , String ,) ; type Output = usize ;"), "{out}");
        let out = expand_str(
            "",
            "async fn f<T: Clone>(x: &Vec<T>, y: impl Clone, z: &u8) -> Result<T, E> { todo!() }",
        )
        .unwrap();
        assert!(
            out.contains("type Inputs = (:: mlflow :: __private :: StepSignatureError , :: mlflow :: __private :: StepSignatureError , u8 ,) ; type Output = :: mlflow :: __private :: StepSignatureError ;"),
            "{out}"
        );
        // Methods get no placeholder: an impl block cannot hold it.
        let out = expand_str("", "fn m(&self, x: &u8) -> u8 { 0 }").unwrap();
        assert!(!out.contains("struct MStep"), "{out}");
    }

    #[test]
    fn discovery_probe_and_crate_path() {
        let out = expand_str(
            "crate = my::mlflow, deps = [extra]",
            "fn f(x: &u64) -> u64 { adjust(*x) + helpers::scale(*x) + x.pow(2) }",
        )
        .unwrap();
        for expected in [
            "impl my :: mlflow :: __private :: Step for FStep",
            "fn helpers () -> my :: mlflow :: __private :: Vec < my :: mlflow :: __private :: HelperHash > { let mut roots = __mlflow_helpers_of_f :: __mlflow_helpers () ; roots . extend (__MLFLOW_DEPS_OF_F . 1 . iter () . map (| helper_ref | helper_ref ())) ; my :: mlflow :: __private :: collect_helpers (roots) }",
            "mod __mlflow_helpers_of_f { use super :: * ; pub struct adjust { } impl my :: mlflow :: __private :: Unresolved for adjust { }",
            "found . extend ((& my :: mlflow :: __private :: Probe :: < adjust > :: NEW) . __mlflow_discover ()) ;",
            "roots . extend (__MLFLOW_DEPS_OF_F . 1 . iter () . map (| helper_ref | helper_ref ())) ;",
            "{ mod __mlflow_fallback { pub struct __mlflow_qualified { } } use __mlflow_fallback :: * ; use helpers :: scale as __mlflow_qualified ; found . extend ((& my :: mlflow :: __private :: Probe :: < __mlflow_qualified > :: NEW) . __mlflow_discover ()) ; }",
        ] {
            assert!(out.contains(expected), "missing {expected:?} in\n{out}");
        }
        assert!(!out.replace("my :: mlflow :: __private", "").contains("mlflow :: __private"), "{out}");
        assert!(!out.contains("Probe :: < pow >"), "{out}");
        let out = expand_str("crate = self::rt", "fn f() -> u64 { g() }").unwrap();
        assert!(out.contains("impl self :: rt :: __private :: Step for FStep"), "{out}");
        assert!(out.contains("impl super :: rt :: __private :: Unresolved for g"), "{out}");
    }

    #[test]
    fn option_errors_keep_the_expansion() {
        let out = expand(
            quote!(cache = "no"),
            quote!(
                fn f() -> u8 {
                    0
                }
            ),
        )
        .unwrap()
        .to_string();
        assert!(out.contains("struct FStep"), "{out}");
        assert!(out.contains("cache : true"), "{out}");
        assert!(out.contains("compile_error !"), "{out}");
    }
}
