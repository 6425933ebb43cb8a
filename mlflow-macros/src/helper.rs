//! `#[helper]`: keeps the function and adds a same-named braced struct implementing `Helper`.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::FnArg;
use syn::ext::IdentExt;

use crate::code_hash::code_hash;
use crate::diag::Errors;
use crate::discover::{Calls, probe_module};
use crate::item::{build_nonce, cfg_attrs, content_hash_literal, deps_array, parse_fn, runtime};
use crate::options::{self, MacroKind};

/// Expands `#[helper(attr)] item`.
pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let options = options::parse(attr, MacroKind::Helper, &mut errors);
    let func = parse_fn(item.clone(), MacroKind::Helper, &mut errors);
    let Some(func) = func else {
        return Err(errors.take().expect("parse_fn reports why it failed"));
    };
    let fn_ident = &func.sig.ident;
    let name = fn_ident.unraw().to_string();
    let deps: Vec<&syn::Path> = options
        .deps
        .iter()
        .filter(|dep| {
            let is_self = dep.get_ident().is_some_and(|d| d.unraw() == name);
            if is_self {
                errors.spanned(
                    dep,
                    format!("helper `{name}` cannot depend on itself: remove `{name}` from its `deps`"),
                );
            }
            !is_self
        })
        .collect();
    if let Some(FnArg::Receiver(receiver)) = func.sig.inputs.first() {
        errors.spanned(
            receiver,
            format!("#[helper] must be on a free function, not a method: `{name}` takes `self`. Move it out of the impl block, or mark the free functions it calls as helpers instead"),
        );
        return Err(errors.take().expect("just pushed"));
    }
    // Option mistakes alone still give the full expansion (without the invalid options), so
    // steps naming this helper do not fail with follow-on errors.
    let option_errors = errors.take().map(|e| e.to_compile_error());

    let rt = runtime(options.krate.as_ref());
    let hash = code_hash(&item);
    let own = content_hash_literal(hash, &rt);
    let deps_block = deps_array(&deps, MacroKind::Helper, &rt);
    let deps_const = quote::format_ident!("__MLFLOW_DEPS_OF_{}", name.to_uppercase());
    let calls = Calls::collect(&func, &deps);
    let site = site_marker(&name, &hash);
    let (probe, probe_module) = probe_module(&name, &calls, &rt, &site, build_nonce());
    let vis = func.vis.to_token_stream();
    let cfgs = cfg_attrs(&func);
    let path = format!("::{name}");
    Ok(quote! {
        #item

        #(#cfgs)*
        #[doc(hidden)]
        #[allow(dead_code, non_camel_case_types)]
        #vis struct #fn_ident {}

        #(#cfgs)*
        impl #rt::Helper for #fn_ident {
            fn code_hash() -> #rt::ContentHash {
                #own
            }

            fn name() -> &'static ::core::primitive::str {
                ::core::concat!(::core::module_path!(), #path)
            }

            fn helpers() -> #rt::Vec<#rt::HelperRef> {
                let mut found = #probe::__mlflow_helpers();
                found.extend(#deps_const.1.iter().map(|helper_ref| helper_ref()));
                found
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


        #option_errors
    })
}

/// The name of the hidden marker struct declared next to a step or helper: the probe finds it
/// through `use super::*` exactly when the function is declared in a module (not in a function
/// body). The code hash makes it unique.
pub fn site_marker(name: &str, hash: &[u8; 32]) -> proc_macro2::Ident {
    let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
    quote::format_ident!("__mlflow_site_{}_{}", name, hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(attr: &str, item: &str) -> syn::Result<String> {
        expand(attr.parse().unwrap(), item.parse().unwrap()).map(|t| t.to_string())
    }

    #[test]
    fn expansion_shape() {
        let out = expand_str(
            "deps = [scale, util::center]",
            "pub fn normalize<T: Into<f64>>(x: T) -> f64 { x.into() }",
        )
        .unwrap();
        for expected in [
            "pub fn normalize < T : Into < f64 >> (x : T) -> f64 { x . into () }",
            "# [doc (hidden)] # [allow (dead_code , non_camel_case_types)] pub struct normalize { }",
            "impl :: mlflow :: __private :: Helper for normalize",
            "fn code_hash () -> :: mlflow :: __private :: ContentHash { :: mlflow :: __private :: ContentHash :: from_bytes ([",
            "fn name () -> & 'static :: core :: primitive :: str { :: core :: concat ! (:: core :: module_path ! () , \"::normalize\") }",
            "fn helpers () -> :: mlflow :: __private :: Vec < :: mlflow :: __private :: HelperRef > { let mut found = __mlflow_helpers_of_normalize :: __mlflow_helpers () ; found . extend (__MLFLOW_DEPS_OF_NORMALIZE . 1 . iter () . map (| helper_ref | helper_ref ())) ; found }",
            "use scale as __not_a_helper_0 ;",
            "use util :: center as __not_a_helper_1 ;",
            "(& [< __not_a_helper_0 as __MlflowIsHelper0 > :: code_hash , < __not_a_helper_1 as __MlflowIsHelper1 > :: code_hash] , & [< __not_a_helper_0 as __MlflowIsHelper0 > :: helper_ref , < __not_a_helper_1 as __MlflowIsHelper1 > :: helper_ref]) }",
            "mod __mlflow_helpers_of_normalize",
        ] {
            assert!(out.contains(expected), "missing {expected:?} in\n{out}");
        }
        let out = expand_str("", "fn plain() {}").unwrap();
        assert!(!out.contains("__not_a_helper") && out.contains("= (& [] , & []) ;"), "{out}");
        let out = expand_str("crate = mlflow_core", "fn plain() { other(1) }").unwrap();
        assert!(out.contains("impl mlflow_core :: __private :: Helper for plain"), "{out}");
        assert!(!out.contains(":: mlflow ::"), "{out}");
    }

    #[test]
    fn same_code_same_own_hash_as_formatting_changes() {
        let a = expand_str("", "fn h(x: f64) -> f64 { x * 2.0 }").unwrap();
        let b = expand_str("", "/// doc\nfn h(x:f64)->f64{ x*2.0 }").unwrap();
        let c = expand_str("", "fn h(x: f64) -> f64 { x * 3.0 }").unwrap();
        let hash = |s: &str| s[s.find("from_bytes").unwrap()..].split(']').next().unwrap().to_owned();
        assert_eq!(hash(&a), hash(&b));
        assert_ne!(hash(&a), hash(&c));
    }

    #[test]
    fn errors() {
        let all = |attr: &str, item: &str| -> Vec<String> {
            expand(attr.parse().unwrap(), item.parse().unwrap())
                .unwrap_err()
                .into_iter()
                .map(|e| e.to_string())
                .collect()
        };
        let e = all("retries = 2, deps = [h]", "fn h(&self) {}");
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].contains("unknown #[helper] option `retries`"), "{e:?}");
        assert!(e[1].contains("cannot depend on itself"), "{e:?}");
        assert!(e[2].contains("not a method"), "{e:?}");
        // Option mistakes alone keep the expansion, minus the bad option.
        let out = expand_str("deps = [h, g], version = 1", "fn h() {}").unwrap();
        assert!(out.contains("fn name ()"), "{out}");
        assert!(out.contains("impl :: mlflow :: __private :: Helper for h"), "{out}");
        assert!(out.contains("use g as __not_a_helper_0 ;"), "{out}");
        assert!(!out.contains("__not_a_helper_1"), "{out}");
        assert_eq!(out.matches("compile_error !").count(), 2, "{out}");
        let e = all("", "const X: u8 = 1;");
        assert_eq!(
            e,
            [
                "#[helper] can only be applied to a free function, not a const: write `#[helper] fn name(...) { ... }`"
            ]
        );
    }
}
