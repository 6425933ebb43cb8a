//! Helper discovery: which `#[helper]` functions a step (or helper) body calls, found without
//! `deps = [...]`.
//!
//! The macro sees only the function's tokens, so it collects the names the body could call and
//! lets rustc resolve them. `#[helper] fn adjust` adds a braced struct `adjust {}` (type
//! namespace) implementing `Helper`. Next to the function the expansion adds a hidden module:
//!
//! ```text
//! mod __mlflow_helpers_of_f {
//!     use super::*;                       // for a relative `crate = path`
//!     pub struct adjust {}                // one fallback per name: "resolves to nothing"
//!     impl Unresolved for adjust {}
//!     pub fn __mlflow_helpers() -> Vec<HelperRef> {
//!         use super::*;                   // the function's module: items, imports, globs
//!         found.extend((&Probe::<adjust>::NEW).__mlflow_discover());
//!         {
//!             mod __mlflow_fallback { pub struct __mlflow_qualified {} }
//!             use __mlflow_fallback::*;
//!             use helpers::adjust as __mlflow_qualified;
//!             found.extend((&Probe::<__mlflow_qualified>::NEW).__mlflow_discover());
//!         }
//!         ...
//!     }
//! }
//! ```
//!
//! Inside the probe function's block, the glob import brings every name of the function's
//! module (a private item of a parent is visible to its child); a name the module lacks falls
//! back to the fallback struct of the enclosing probe module. Autoref specialization then yields
//! the helper (when the name is a `#[helper]`'s struct) or nothing (a plain function has no type
//! of that name, so the fallback is used). A qualified call `a::b::adjust(x)` is probed in a
//! nested block that imports `a::b::adjust` under an alias next to a glob import of a fallback
//! for that alias: the explicit import shadows the glob namespace by namespace.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Delimiter, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote};
use syn::ext::IdentExt;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{Expr, ItemFn, Token, UseTree};

/// A qualified call `a::b::name`: the prefix segments, whether it starts with `::`, the name.
struct Qualified {
    prefix: Vec<Ident>,
    leading_colon: bool,
    last: Ident,
}

/// What a function body may call.
#[derive(Default)]
pub struct Calls {
    /// Single names called or used as values (`adjust(x)`, `.map(adjust)`), with the span of
    /// their first use.
    names: BTreeMap<String, Ident>,
    /// Qualified paths, keyed by (prefix segments, last segment): `helpers::adjust` is
    /// (["helpers"], "adjust").
    paths: BTreeMap<(Vec<String>, String), Qualified>,
    /// `use` declarations inside the body: replayed in the probe.
    uses: Vec<syn::ItemUse>,
    /// Names bound by patterns (arguments, `let`, closures, `match`, `for`): locals.
    locals: BTreeSet<String>,
    /// Names called directly (`name(...)`), even when also bound as locals.
    called: BTreeSet<String>,
    /// Items declared inside the body (nested `fn`, `mod`, ...): not visible to the probe.
    local_items: BTreeSet<String>,
    /// The last segments of the paths in `deps = [...]`.
    listed: BTreeSet<String>,
}

impl Calls {
    /// Collects what `func`'s body (and argument patterns) may call; `deps` are the helpers the
    /// attribute lists (resolved where the function is, so never "unseen").
    pub fn collect(func: &ItemFn, deps: &[&syn::Path]) -> Calls {
        let listed = deps.iter().filter_map(|d| d.segments.last()).map(|s| s.ident.unraw().to_string());
        let mut calls = Calls { listed: listed.collect(), ..Calls::default() };
        for arg in &func.sig.inputs {
            if let syn::FnArg::Typed(arg) = arg {
                calls.visit_pat(&arg.pat);
            }
        }
        calls.visit_block(&func.block);
        calls
    }

    /// The single names to probe.
    fn single_names(&self) -> Vec<&Ident> {
        let prefixes: BTreeSet<&str> =
            self.paths.keys().filter_map(|(prefix, _)| prefix.first().map(String::as_str)).collect();
        self.names
            .iter()
            .filter(|(name, _)| !self.locals.contains(*name) || self.called.contains(*name))
            .filter(|(name, _)| !self.local_items.contains(*name) && !prefixes.contains(name.as_str()))
            .map(|(_, ident)| ident)
            .collect()
    }

    /// The qualified paths to probe: (prefix, last).
    fn qualified(&self) -> Vec<(&Vec<Ident>, bool, &Ident)> {
        self.paths
            .iter()
            .filter(|((prefix, _), _)| !prefix.first().is_some_and(|first| self.local_items.contains(first)))
            .map(|(_, q)| (&q.prefix, q.leading_colon, &q.last))
            .collect()
    }

    /// Records a path used as a value or called.
    fn path(&mut self, path: &syn::Path, called: bool) {
        let segments: Vec<&syn::PathSegment> = path.segments.iter().collect();
        let Some((last, prefix)) = segments.split_last() else { return };
        let name = last.ident.unraw().to_string();
        if !is_fn_name(&name) {
            return;
        }
        if prefix.is_empty() && path.leading_colon.is_none() {
            self.names.entry(name.clone()).or_insert_with(|| last.ident.clone());
            if called {
                self.called.insert(name);
            }
            return;
        }
        // A qualified path: every segment snake_case (modules), the first possibly a keyword
        // (`crate`, `self`, `super`); types (`Vec::new`, `f64::max`, `Self::f`) are skipped.
        let mut idents = Vec::new();
        for (i, segment) in prefix.iter().enumerate() {
            let text = segment.ident.to_string();
            let keyword = matches!(text.as_str(), "crate" | "self" | "super");
            let allowed = if keyword { text == "super" || i == 0 } else { is_module_name(&text) };
            if !allowed || !segment.arguments.is_none() || (text == "crate" && path.leading_colon.is_some()) {
                return;
            }
            idents.push(segment.ident.clone());
        }
        let key = (idents.iter().map(ToString::to_string).collect(), name);
        self.paths.entry(key).or_insert_with(|| Qualified {
            prefix: idents,
            leading_colon: path.leading_colon.is_some(),
            last: last.ident.clone(),
        });
    }

    /// Scans the tokens of a macro invocation: comma-separated expressions are visited like
    /// code; anything else is scanned for `name(` and `a::b::name(`.
    fn macro_tokens(&mut self, tokens: &TokenStream) {
        if let Ok(exprs) = Punctuated::<Expr, Token![,]>::parse_terminated.parse2(tokens.clone()) {
            for expr in &exprs {
                self.visit_expr(expr);
            }
            return;
        }
        let tokens: Vec<TokenTree> = tokens.clone().into_iter().collect();
        for (i, token) in tokens.iter().enumerate() {
            match token {
                TokenTree::Group(group) => self.macro_tokens(&group.stream()),
                TokenTree::Ident(_) => {
                    let is_call = matches!(tokens.get(i + 1), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis);
                    let after_dot_or_fn = match i.checked_sub(1).map(|j| &tokens[j]) {
                        Some(TokenTree::Punct(p)) => p.as_char() == '.',
                        Some(TokenTree::Ident(prev)) => prev == "fn",
                        _ => false,
                    };
                    if is_call && !after_dot_or_fn {
                        // Walk back over `a :: b ::` to rebuild the path.
                        let mut start = i;
                        while start >= 3
                            && matches!((&tokens[start - 2], &tokens[start - 1]), (TokenTree::Punct(a), TokenTree::Punct(b)) if a.as_char() == ':' && b.as_char() == ':')
                            && matches!(&tokens[start - 3], TokenTree::Ident(_))
                        {
                            start -= 3;
                        }
                        let text: TokenStream = tokens[start..=i].iter().cloned().collect();
                        if let Ok(path) = syn::parse2::<syn::Path>(text) {
                            self.path(&path, true);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

impl<'ast> Visit<'ast> for Calls {
    fn visit_expr_path(&mut self, node: &'ast syn::ExprPath) {
        if node.qself.is_none() {
            self.path(&node.path, false);
        }
        syn::visit::visit_expr_path(self, node);
    }

    fn visit_expr_call(&mut self, node: &'ast syn::ExprCall) {
        if let Expr::Path(path) = &*node.func
            && path.qself.is_none()
        {
            self.path(&path.path, true);
        }
        syn::visit::visit_expr_call(self, node);
    }

    fn visit_pat_ident(&mut self, node: &'ast syn::PatIdent) {
        self.locals.insert(node.ident.unraw().to_string());
        syn::visit::visit_pat_ident(self, node);
    }

    fn visit_macro(&mut self, node: &'ast syn::Macro) {
        self.macro_tokens(&node.tokens);
    }

    fn visit_item_use(&mut self, node: &'ast syn::ItemUse) {
        self.uses.push(node.clone());
    }

    fn visit_item_fn(&mut self, node: &'ast syn::ItemFn) {
        self.local_items.insert(node.sig.ident.unraw().to_string());
        syn::visit::visit_item_fn(self, node);
    }

    fn visit_item_mod(&mut self, node: &'ast syn::ItemMod) {
        self.local_items.insert(node.ident.unraw().to_string());
        syn::visit::visit_item_mod(self, node);
    }

    fn visit_item_const(&mut self, node: &'ast syn::ItemConst) {
        self.local_items.insert(node.ident.unraw().to_string());
        syn::visit::visit_item_const(self, node);
    }

    fn visit_item_static(&mut self, node: &'ast syn::ItemStatic) {
        self.local_items.insert(node.ident.unraw().to_string());
        syn::visit::visit_item_static(self, node);
    }
}

/// A name that can be a function: snake_case, not a keyword or primitive type.
fn is_fn_name(name: &str) -> bool {
    is_module_name(name) && !matches!(name, "self" | "super" | "crate")
}

/// snake_case (lowercase letters, digits, `_`), not a primitive type.
fn is_module_name(name: &str) -> bool {
    const PRIMITIVES: &[&str] = &[
        "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128",
        "isize", "f16", "f32", "f64", "f128",
    ];
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_lowercase() || c.is_ascii_digit() || c == '_')
        && name.chars().any(|c| c.is_alphabetic())
        && !PRIMITIVES.contains(&name)
}

/// Rewrites a path written in the function's scope for use one module deeper (inside the probe
/// module): a leading `self` becomes `super`, a leading `super` becomes `super::super`.
fn deeper(prefix: &[Ident], leading_colon: bool) -> TokenStream {
    let mut out = TokenStream::new();
    if leading_colon {
        out.extend(quote!(::));
    }
    for (i, segment) in prefix.iter().enumerate() {
        if i > 0 {
            out.extend(quote!(::));
        }
        if i == 0 && segment == "self" {
            out.extend(quote!(super));
        } else if i == 0 && segment == "super" {
            out.extend(quote!(super::super));
        } else {
            segment.to_tokens(&mut out);
        }
    }
    out
}

/// A `use` tree rewritten one module deeper (see [`deeper`]).
fn deeper_use(tree: &UseTree) -> TokenStream {
    match tree {
        UseTree::Path(p) if p.ident == "self" => {
            let rest = &p.tree;
            quote!(super::#rest)
        }
        UseTree::Path(p) if p.ident == "super" => {
            let rest = &p.tree;
            quote!(super::super::#rest)
        }
        other => other.to_token_stream(),
    }
}

/// The first segment of a `use` tree.
fn use_root(tree: &UseTree) -> Option<String> {
    match tree {
        UseTree::Path(p) => Some(p.ident.unraw().to_string()),
        UseTree::Name(n) => Some(n.ident.unraw().to_string()),
        UseTree::Rename(r) => Some(r.ident.unraw().to_string()),
        _ => None,
    }
}

/// The hidden probe module for the function `fn_name` and its name. `private` is the runtime's
/// `__private` path as written at the function's site; `site` is the site marker struct the
/// expansion declares next to the function; `unseen_hash` stands for what discovery cannot see
/// when the function is declared in a function body.
///
/// Such a function's probe still resolves names in the enclosing module (`super` of a module
/// declared in a block is the enclosing module, not the block), so helpers declared in the
/// function body, or imported by a `use` in it, are not found. When it calls a name that is not
/// a helper of the module (other than its own locals and `drop`), which may be such a helper,
/// the list gets a stand-in entry hashed with `unseen_hash`, a value unique to the build.
pub fn probe_module(
    fn_name: &str,
    calls: &Calls,
    private: &TokenStream,
    site: &Ident,
    unseen_hash: [u8; 32],
) -> (Ident, TokenStream) {
    let module = format_ident!("__mlflow_helpers_of_{}", fn_name);
    let rt = deeper_private(private);
    let singles = calls.single_names();
    let qualified = calls.qualified();

    // One fallback struct per distinct single name.
    let mut fallback_names: BTreeMap<String, Ident> = BTreeMap::new();
    for ident in &singles {
        fallback_names.entry(ident.unraw().to_string()).or_insert_with(|| plain_ident(ident));
    }
    let fallbacks: Vec<&Ident> = fallback_names.values().collect();

    let unseen_hash = crate::item::content_hash_literal(unseen_hash, &rt);
    let probe = |ident: &Ident| quote!(found.extend((&#rt::Probe::<#ident>::NEW).__mlflow_discover()););
    let single_probes: Vec<TokenStream> = singles.iter().map(|i| probe(i)).collect();
    let unresolved_checks = singles
        .iter()
        .filter(|ident| {
            let name = ident.unraw().to_string();
            !calls.locals.contains(&name) && !calls.listed.contains(&name) && name != "drop"
        })
        .map(|ident| quote!(unresolved |= (&#rt::Probe::<#ident>::NEW).__mlflow_unresolved();));
    // `a::b::name`: imported under an alias, next to a glob import of a fallback of that alias
    // in the same block; the explicit import shadows the glob namespace by namespace, so the
    // alias is the helper's struct if `a::b::name` is a helper, the fallback otherwise. (Looking
    // `name` up lexically instead would find whatever else is called `name` in the function's
    // scope, such as the module `validate` of a call `validate::validate(x)`.)
    let qualified_probes = qualified.iter().map(|(prefix, leading_colon, last)| {
        let prefix = deeper(prefix, *leading_colon);
        let alias = Ident::new("__mlflow_qualified", last.span());
        quote!({
            mod __mlflow_fallback {
                pub struct __mlflow_qualified {}
            }
            use __mlflow_fallback::*;
            use #prefix::#last as #alias;
            found.extend((&#rt::Probe::<#alias>::NEW).__mlflow_discover());
        })
    });
    // `use` declarations of the body, each replayed with every single-name probe after it.
    let use_probes = calls
        .uses
        .iter()
        .filter(|u| !use_root(&u.tree).is_some_and(|root| calls.local_items.contains(&root)))
        .map(|u| {
            let tree = deeper_use(&u.tree);
            let colon = u.leading_colon;
            quote!({
                use #colon #tree;
                #(#single_probes)*
            })
        });
    let unseen_name = format!("<calls of `{fn_name}` unseen by discovery: declared in a function body>");

    let tokens = quote! {
        #[doc(hidden)]
        #[allow(
            non_camel_case_types,
            non_snake_case,
            dead_code,
            unused_imports,
            unused_mut,
            unreachable_pub,
            clippy::all
        )]
        mod #module {
            use super::*;

            #(
                pub struct #fallbacks {}
                impl #rt::Unresolved for #fallbacks {}
            )*

            /// Stands for the site marker when the function is declared in a function body.
            pub struct #site {}

            pub struct __MlflowUnseen {}

            fn __mlflow_unseen_name() -> &'static ::core::primitive::str {
                ::core::concat!(::core::module_path!(), "::", #unseen_name)
            }

            fn __mlflow_unseen_hash() -> #rt::ContentHash {
                #unseen_hash
            }

            pub fn __mlflow_helpers() -> ::std::vec::Vec<#rt::HelperRef> {
                use super::*;
                use #rt::{
                    DiscoverHelper as _, DiscoverOther as _, IsNotSite as _, IsResolved as _, IsSite as _,
                    IsUnresolved as _,
                };
                let mut found: ::std::vec::Vec<#rt::HelperRef> = ::std::vec::Vec::new();
                let mut unresolved = false;
                #(#single_probes)*
                #(#unresolved_checks)*
                #(#qualified_probes)*
                #(#use_probes)*
                if unresolved && !(&#rt::Probe::<#site>::NEW).__mlflow_in_module() {
                    found.push(#rt::HelperRef::stand_in(
                        ::core::any::TypeId::of::<__MlflowUnseen>,
                        __mlflow_unseen_name,
                        __mlflow_unseen_hash,
                    ));
                }
                found
            }
        }
    };
    (module, tokens)
}

/// The identifier with a call-site span, for the fallback structs the expansion declares.
fn plain_ident(ident: &Ident) -> Ident {
    if ident.to_string().starts_with("r#") {
        Ident::new_raw(&ident.unraw().to_string(), Span::call_site())
    } else {
        Ident::new(&ident.to_string(), Span::call_site())
    }
}

/// The runtime path as seen from inside the probe module (one module deeper).
fn deeper_private(private: &TokenStream) -> TokenStream {
    let tokens: Vec<TokenTree> = private.clone().into_iter().collect();
    match tokens.first() {
        Some(TokenTree::Ident(first)) if first == "self" => {
            let rest: TokenStream = tokens[1..].iter().cloned().collect();
            quote!(super #rest)
        }
        Some(TokenTree::Ident(first)) if first == "super" => quote!(super:: #private),
        _ => private.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(src: &str) -> Calls {
        let func: ItemFn = syn::parse_str(src).unwrap();
        Calls::collect(&func, &[])
    }

    fn singles(c: &Calls) -> Vec<String> {
        c.single_names().iter().map(|i| i.to_string()).collect()
    }

    fn paths(c: &Calls) -> Vec<String> {
        c.qualified()
            .iter()
            .map(|(prefix, colon, last)| {
                let mut s = if *colon { "::".to_owned() } else { String::new() };
                s += &prefix.iter().map(|i| format!("{i}::")).collect::<String>();
                s + &last.to_string()
            })
            .collect()
    }

    #[test]
    fn calls_values_and_macros() {
        let c = calls(
            "fn f(x: &Vec<f64>, (a, b): (u8, u8)) -> f64 {
                let y = adjust(x[0]);
                let zs: Vec<f64> = x.iter().map(scale).collect();
                let k = |v: f64| v * 2.0;
                let w = k(y);
                println!(\"{}\", fmt_it(w));
                let v = vec![make(1), make(2)];
                helpers::adjust(y) + self::util::norm(w) + super::top(1) + ::ext::f(2) + crate::c::d(3)
                    + Vec::new().len() as f64 + f64::max(1.0, 2.0) + Self::g() + Some(1).unwrap() as f64
                    + a as f64 + b as f64 + zs[0] + v.len() as f64 + x.len() as f64
            }",
        );
        assert_eq!(singles(&c), ["adjust", "fmt_it", "k", "make", "scale"]);
        assert_eq!(
            paths(&c),
            ["crate::c::d", "::ext::f", "helpers::adjust", "self::util::norm", "super::top"]
        );
    }

    #[test]
    fn locals_are_skipped_unless_called() {
        let c = calls(
            "fn f(rows: &Vec<u8>) -> usize {
                let data = rows.clone();
                for item in &data { let _ = item; }
                match data.len() { n => n + count(&data) }
            }",
        );
        assert_eq!(singles(&c), ["count"]);
    }

    #[test]
    fn nested_items_and_uses() {
        let c = calls(
            "fn f(x: u8) -> u8 {
                use helpers::adjust as tweak;
                use self::more::*;
                mod inner { pub fn g() -> u8 { 1 } }
                fn local(x: u8) -> u8 { deep(x) }
                tweak(local(x)) + inner::g()
            }",
        );
        assert_eq!(singles(&c), ["deep", "tweak"]);
        assert!(paths(&c).is_empty(), "{:?}", paths(&c));
        assert_eq!(c.uses.len(), 2);
        assert_eq!(deeper_use(&c.uses[1].tree).to_string(), "super :: more :: *");
    }

    #[test]
    fn names_used_as_module_prefixes_are_not_probed_as_names() {
        let c = calls("fn f(x: u8) -> u8 { parse(x) + parse::parse(x) }");
        assert!(singles(&c).is_empty());
        assert_eq!(paths(&c), ["parse::parse"]);
    }

    #[test]
    fn snake_case_only() {
        assert!(is_fn_name("adjust") && is_fn_name("_private") && is_fn_name("v2"));
        for name in ["Adjust", "MAX", "u8", "f64", "str", "self", "crate", "_", "__"] {
            assert!(!is_fn_name(name), "{name}");
        }
    }

    #[test]
    fn paths_one_module_deeper() {
        let p = |s: &str| -> TokenStream { s.parse().unwrap() };
        assert_eq!(deeper_private(&p(":: mlflow :: __private")).to_string(), ":: mlflow :: __private");
        assert_eq!(deeper_private(&p("self :: m :: __private")).to_string(), "super :: m :: __private");
        assert_eq!(
            deeper_private(&p("super :: m :: __private")).to_string(),
            "super :: super :: m :: __private"
        );
        assert_eq!(deeper_private(&p("reexport :: __private")).to_string(), "reexport :: __private");
    }
}
