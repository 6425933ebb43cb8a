//! What `#[step]` and `#[helper]` share about the annotated item.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, ToTokens};
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

/// `::mlflow::__private::ContentHash::from_bytes([...])` for a hash computed at expansion time.
pub fn content_hash_literal(bytes: [u8; 32]) -> TokenStream {
    let bytes = bytes.iter().map(|b| Literal::u8_unsuffixed(*b));
    quote!(::mlflow::__private::ContentHash::from_bytes([#(#bytes),*]))
}
