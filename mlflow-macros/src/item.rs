//! What `#[step]` and `#[helper]` share about the annotated item.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::{Attribute, Item, ItemFn};

use crate::diag::Errors;
use crate::options::MacroKind;

/// Parses the annotated item as a free function; anything else is an error at the item.
pub fn parse_fn(item: TokenStream, kind: MacroKind, errors: &mut Errors) -> Option<ItemFn> {
    let item: Item = match syn::parse2(item) {
        Ok(item) => item,
        Err(error) => {
            errors.push(error);
            return None;
        }
    };
    let (what, head): (&str, TokenStream) = match &item {
        Item::Fn(func) => return Some(func.clone()),
        Item::Const(i) => ("a const", pair(&i.const_token, &i.ident)),
        Item::Enum(i) => ("an enum", pair(&i.enum_token, &i.ident)),
        Item::ExternCrate(i) => ("an extern crate", pair(&pair(&i.extern_token, &i.crate_token), &i.ident)),
        Item::ForeignMod(i) => ("an extern block", i.abi.to_token_stream()),
        Item::Impl(i) => ("an impl block", pair(&i.impl_token, &i.self_ty)),
        Item::Macro(i) => ("a macro", i.mac.path.to_token_stream()),
        Item::Mod(i) => ("a module", pair(&i.mod_token, &i.ident)),
        Item::Static(i) => ("a static", pair(&i.static_token, &i.ident)),
        Item::Struct(i) => ("a struct", pair(&i.struct_token, &i.ident)),
        Item::Trait(i) => ("a trait", pair(&i.trait_token, &i.ident)),
        Item::TraitAlias(i) => ("a trait alias", pair(&i.trait_token, &i.ident)),
        Item::Type(i) => ("a type alias", pair(&i.type_token, &i.ident)),
        Item::Union(i) => ("a union", pair(&i.union_token, &i.ident)),
        Item::Use(i) => ("a use declaration", pair(&i.use_token, &i.tree)),
        _ => ("this item", item.to_token_stream()),
    };
    let example = match kind {
        MacroKind::Step => "#[step] fn name(a: &A, b: B) -> Out { ... }",
        MacroKind::Helper => "#[helper] fn name(...) { ... }",
    };
    errors.spanned(
        head,
        format!("{} can only be applied to a free function, not {what}: write `{example}`", kind.attr()),
    );
    None
}

/// The tokens of `a` followed by those of `b`: an error spanning both.
fn pair(a: &impl ToTokens, b: &impl ToTokens) -> TokenStream {
    let mut tokens = a.to_token_stream();
    b.to_tokens(&mut tokens);
    tokens
}

/// The function's `#[cfg(...)]` attributes: copied onto the generated items, so that they exist
/// exactly when the function does.
pub fn cfg_attrs(func: &ItemFn) -> Vec<&Attribute> {
    func.attrs.iter().filter(|a| a.path().is_ident("cfg")).collect()
}

/// A block expression for a `const` of type
/// `(&'static [fn() -> ContentHash], &'static [fn() -> HelperRef])`: the code hashes and the
/// handles of the `#[helper]` functions `deps` names (resolved where the function is, so a step
/// declared in a function body can list helpers declared there).
///
/// `#[helper] fn h` adds a braced struct `h` (type namespace) implementing `Helper`. Each path is
/// imported under a fixed alias next to a glob import of a local fallback module that has a
/// struct of the same alias name: an explicit import shadows a glob one namespace by namespace,
/// so the alias is the helper's struct when the path names a `#[helper]`, and the fallback struct
/// when it names a plain function. The fallback does not implement the requirement trait, whose
/// `#[diagnostic::on_unimplemented]` message then names the path and says what to do, at the
/// path's span (instead of rustc's bare "expected type, found function").
pub fn deps_array(deps: &[&syn::Path], kind: MacroKind, rt: &TokenStream) -> TokenStream {
    if deps.is_empty() {
        return quote!((&[], &[]));
    }
    let mut aliases = Vec::new();
    let mut items = Vec::new();
    let mut entries = Vec::new();
    let mut refs = Vec::new();
    for (i, path) in deps.iter().enumerate() {
        let text = path.to_token_stream().to_string().replace(' ', "");
        let span = path.segments.last().map_or_else(Span::call_site, |s| s.ident.span());
        let alias = Ident::new(&format!("__not_a_helper_{i}"), span);
        let requirement = Ident::new(&format!("__MlflowIsHelper{i}"), span);
        let message = format!("`{text}` in `deps` is not a function marked #[helper]");
        let label = "not a #[helper]";
        let note = format!(
            "{} `deps` lists functions marked #[helper], whose code hash is known: add `#[helper]` to `fn {}`, or remove it from `deps`",
            kind.attr(),
            path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default(),
        );
        items.push(quote! {
            #[allow(unused_imports)]
            use #path as #alias;
            #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
            trait #requirement {
                fn code_hash() -> #rt::ContentHash;
                fn helper_ref() -> #rt::HelperRef;
            }
            impl<T: #rt::Helper> #requirement for T {
                fn code_hash() -> #rt::ContentHash {
                    <T as #rt::Helper>::code_hash()
                }
                fn helper_ref() -> #rt::HelperRef {
                    #rt::HelperRef::of::<T>()
                }
            }
        });
        // rustc reports an unmet bound of `<T as R>::f` at `T`: the alias, spanned at the path's
        // last segment.
        entries.push(quote_spanned!(span=> <#alias as #requirement>::code_hash));
        refs.push(quote_spanned!(span=> <#alias as #requirement>::helper_ref));
        aliases.push(alias);
    }
    quote! {
        {
            #[allow(dead_code, non_camel_case_types)]
            mod __mlflow_deps {
                #(pub struct #aliases;)*
            }
            #[allow(unused_imports)]
            use __mlflow_deps::*;
            #(#items)*
            (&[#(#entries),*], &[#(#refs),*])
        }
    }
}

/// `path::__private::ContentHash::from_bytes([...])` for a hash computed at expansion time.
pub fn content_hash_literal(bytes: [u8; 32], rt: &TokenStream) -> TokenStream {
    let bytes = bytes.iter().map(|b| Literal::u8_unsuffixed(*b));
    quote!(#rt::ContentHash::from_bytes([#(#bytes),*]))
}

/// The path through which generated code names the runtime: `path::__private`, where `path` is
/// the `crate = path` option or `::mlflow`.
pub fn runtime(krate: Option<&syn::Path>) -> TokenStream {
    match krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::mlflow::__private),
    }
}

/// A value unique to this compilation (time and process), standing for code discovery cannot
/// see (see `discover`): a step using it misses after every rebuild of its crate, and never hits
/// a result computed with other code. Outside a real macro expansion (unit tests), zero.
pub fn build_nonce() -> [u8; 32] {
    if !proc_macro::is_available() {
        return [0; 32];
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"mlflow/unseen/v1");
    hasher.update(&now.as_nanos().to_le_bytes());
    hasher.update(&std::process::id().to_le_bytes());
    *hasher.finalize().as_bytes()
}
