//! The code hash of a function: a canonical walk of its tokens, hashed with BLAKE3.
//!
//! What counts: identifiers, punctuation (character and spacing), literals (their source text)
//! and groups (delimiter and contents, recursively). What does not: spans (so whitespace, line
//! breaks and comments, which never become tokens) and doc attributes (`#[doc ...]` and
//! `#![doc ...]`, which is what `///` and `//!` comments turn into).
//!
//! Trailing commas before a closing delimiter are dropped (`f(a, b,)` is `f(a, b)`), except
//! the single comma of a one-element tuple `(x,)`.
//!
//! Spacing is canonical: a punctuation character counts as joined to the next one only when the
//! two form (part of) a multi-character operator (`&&`, `<<=`, `::`, `->`, ...) or a lifetime
//! (`'a`). So `a && b` and `a & &b` differ, while `Vec<u8>,` and `Vec<u8> ,` do not.
//!
//! Every token is written as a one-byte tag followed by fixed-size or length-prefixed data, and
//! every group is closed by an end tag, so the byte stream decodes back to exactly one token
//! sequence: two different token sequences cannot produce the same stream.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// Domain tag: hashes of code never collide with hashes of anything else mlflow computes.
pub const DOMAIN: &str = "mlflow/code/v1";

const TAG_IDENT: u8 = b'I';
const TAG_PUNCT: u8 = b'P';
const TAG_LITERAL: u8 = b'L';
const TAG_GROUP: u8 = b'G';
const TAG_END: u8 = b'E';

/// The code hash of `tokens` (normally a whole `fn` item, signature and body).
pub fn code_hash(tokens: &TokenStream) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    write_text(&mut hasher, DOMAIN);
    walk(&mut hasher, tokens.clone(), None);
    *hasher.finalize().as_bytes()
}

/// Writes a length-prefixed string.
fn write_text(hasher: &mut blake3::Hasher, text: &str) {
    hasher.update(&(text.len() as u64).to_le_bytes());
    hasher.update(text.as_bytes());
}

/// Hashes `tokens`, the contents of a group with delimiter `group` (`None` at the top level).
fn walk(hasher: &mut blake3::Hasher, tokens: TokenStream, group: Option<Delimiter>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let is_comma = |t: &TokenTree| matches!(t, TokenTree::Punct(p) if p.as_char() == ',');
    // A trailing comma is formatting (rustfmt adds it when it breaks a list over several lines),
    // except in `(x,)`, where the only comma makes a one-element tuple.
    let drop_trailing_comma = group.is_some()
        && tokens.last().is_some_and(is_comma)
        && !(group == Some(Delimiter::Parenthesis) && tokens.iter().filter(|t| is_comma(t)).count() == 1);
    let end = tokens.len() - usize::from(drop_trailing_comma);
    let mut i = 0;
    while i < end {
        if let Some(len) = doc_attribute_len(&tokens[i..end]) {
            i += len;
            continue;
        }
        match &tokens[i] {
            TokenTree::Ident(ident) => {
                hasher.update(&[TAG_IDENT]);
                write_text(hasher, &ident.to_string());
            }
            TokenTree::Punct(punct) => {
                hasher.update(&[TAG_PUNCT]);
                hasher.update(&u32::from(punct.as_char()).to_le_bytes());
                let joint = punct.spacing() == Spacing::Joint
                    && match tokens.get(i + 1) {
                        Some(TokenTree::Punct(next)) => forms_operator(punct.as_char(), next.as_char()),
                        Some(TokenTree::Ident(_)) => punct.as_char() == '\'',
                        _ => false,
                    };
                hasher.update(&[if joint { b'j' } else { b'a' }]);
            }
            TokenTree::Literal(literal) => {
                hasher.update(&[TAG_LITERAL]);
                write_text(hasher, &literal.to_string());
            }
            TokenTree::Group(group) => {
                hasher.update(&[
                    TAG_GROUP,
                    match group.delimiter() {
                        Delimiter::Parenthesis => b'(',
                        Delimiter::Brace => b'{',
                        Delimiter::Bracket => b'[',
                        Delimiter::None => b'N',
                    },
                ]);
                walk(hasher, group.stream(), Some(group.delimiter()));
                hasher.update(&[TAG_END]);
            }
        }
        i += 1;
    }
}

/// Whether `a` directly followed by `b` is (part of) one multi-character operator, like `&&`,
/// `<<=` or `::`. Only then does their spacing change what the code means (`a && b` is not
/// `a & &b`); elsewhere it is formatting (`Vec<u8>,` vs. `Vec<u8> ,`) and is normalized away.
fn forms_operator(a: char, b: char) -> bool {
    matches!(
        (a, b),
        ('&', '&' | '=')
            | ('|', '|' | '=')
            | ('<', '<' | '=' | '-')
            | ('>', '>' | '=')
            | ('+' | '-' | '*' | '/' | '%' | '^' | '=' | '!', '=')
            | ('.', '.' | '=')
            | (':', ':')
            | ('-' | '=', '>')
    )
}

/// If `tokens` starts with a doc attribute (`# [doc ...]` or `# ! [doc ...]`), its length in
/// token trees.
fn doc_attribute_len(tokens: &[TokenTree]) -> Option<usize> {
    let is_punct =
        |t: Option<&TokenTree>, c: char| matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == c);
    if !is_punct(tokens.first(), '#') {
        return None;
    }
    let bang = usize::from(is_punct(tokens.get(1), '!'));
    match tokens.get(1 + bang) {
        Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Bracket => {
            match group.stream().into_iter().next() {
                Some(TokenTree::Ident(ident)) if ident == "doc" => Some(2 + bang),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    /// Hash of Rust source text, through `TokenStream::from_str` (as rustc would tokenize it).
    fn hash(source: &str) -> [u8; 32] {
        code_hash(&TokenStream::from_str(source).expect("test source tokenizes"))
    }

    /// Hash of a function, after a round trip through `syn::ItemFn` (so the source must be a
    /// valid function).
    fn hash_fn(source: &str) -> [u8; 32] {
        let item: syn::ItemFn = syn::parse_str(source).expect("test source is a function");
        code_hash(&quote::quote!(#item))
    }

    const BASE: &str = "fn scale(xs: &Vec<f64>, k: &f64) -> Vec<f64> {
        let out = xs.iter().map(|x| x * k).collect();
        out
    }";

    #[test]
    fn deterministic_and_32_bytes() {
        assert_eq!(hash(BASE), hash(BASE));
        assert_eq!(hash_fn(BASE), hash(BASE));
        assert_ne!(hash(BASE), [0; 32]);
    }

    #[test]
    fn reformatting_keeps_the_hash() {
        let one_line = "fn scale(xs:&Vec<f64>,k:&f64)->Vec<f64>{let out=xs.iter().map(|x|x*k).collect();out}";
        let spread = "fn   scale (\n    xs : & Vec < f64 >,\n    k: &f64,\n)\n-> Vec<f64>\n{\n\n    let out = xs\n        .iter()\n        .map( |x| x * k )\n        .collect();\n    out\n}\n";
        assert_eq!(hash(one_line), hash(BASE));
        assert_eq!(hash(spread), hash(BASE));
        assert_eq!(hash_fn(spread), hash_fn(BASE));
    }

    #[test]
    fn comments_keep_the_hash() {
        let commented = "fn scale(xs: &Vec<f64>, /* the factor */ k: &f64) -> Vec<f64> {
            // multiply every element
            let out = xs.iter().map(|x| x * k).collect(); /* block
            comment */
            out // done
        }";
        assert_eq!(hash(commented), hash(BASE));
    }

    #[test]
    fn doc_comments_and_doc_attributes_keep_the_hash() {
        let documented = "/// Scales every element.
        ///
        /// # Examples
        /** block doc */
        #[doc = \"more docs\"]
        #[doc(alias = \"multiply\")]
        fn scale(xs: &Vec<f64>, k: &f64) -> Vec<f64> {
            //! inner doc comment
            #![doc = \"inner doc attribute\"]
            let out = xs.iter().map(|x| x * k).collect();
            out
        }";
        assert_eq!(hash(documented), hash(BASE));
        assert_eq!(hash_fn(documented), hash(BASE));
    }

    #[test]
    fn other_attributes_count() {
        let inline = format!("#[inline] {BASE}");
        assert_ne!(hash(&inline), hash(BASE));
        // `#[docs]` is not a doc attribute, and `#` not followed by brackets is kept.
        assert_ne!(hash(&format!("#[docs] {BASE}")), hash(BASE));
        assert_ne!(hash("fn f() { m!(# doc) }"), hash("fn f() { m!(doc) }"));
    }

    #[test]
    fn every_real_edit_changes_the_hash() {
        let edits = [
            // identifier
            BASE.replace("scale", "scale2"),
            BASE.replace("out", "result"),
            BASE.replace("map", "filter_map"),
            // literal
            "fn f() -> u32 { 1 }".to_owned(),
            // operator
            BASE.replace("x * k", "x + k"),
            BASE.replace("x * k", "x / k"),
            // added statement
            BASE.replace("out\n", "let out = out; out\n"),
            // removed statement
            "fn scale(xs: &Vec<f64>, k: &f64) -> Vec<f64> { xs.iter().map(|x| x * k).collect() }".to_owned(),
            // signature: argument type, borrow, return type, visibility
            BASE.replace("k: &f64", "k: &f32"),
            BASE.replace("k: &f64", "k: f64"),
            BASE.replace("-> Vec<f64>", "-> Vec<f32>"),
            format!("pub {BASE}"),
        ];
        let base = hash(BASE);
        for edit in &edits {
            assert_ne!(hash(edit), base, "edit not detected: {edit}");
        }
        let mut all: Vec<[u8; 32]> = edits.iter().map(|e| hash(e)).collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), edits.len(), "two different edits hash alike");
    }

    #[test]
    fn literals_are_compared_by_text() {
        assert_ne!(hash("fn f() -> u32 { 1 }"), hash("fn f() -> u32 { 2 }"));
        assert_ne!(hash("fn f() -> &'static str { \"a\" }"), hash("fn f() -> &'static str { \"b\" }"));
        assert_ne!(hash("fn f() -> f64 { 1.0 }"), hash("fn f() -> f64 { 1.00 }"));
    }

    #[test]
    fn structure_is_unambiguous() {
        // Same characters, different token boundaries or grouping.
        assert_ne!(hash("ab"), hash("a b"));
        assert_ne!(hash("a(b)c"), hash("a(b c)"));
        assert_ne!(hash("(a)"), hash("[a]"));
        assert_ne!(hash("(a)"), hash("{a}"));
        assert_ne!(hash("((a))"), hash("(a)"));
        assert_ne!(hash("\"a\" \"b\""), hash("\"a b\""));
        // Joint vs. alone punctuation: `<<` is one shift operator, `< <` two less-thans.
        assert_ne!(hash("a << b"), hash("a < < b"));
        assert_ne!(hash("a -= b"), hash("a - = b"));
        assert_ne!(hash("a && b"), hash("a & &b"));
        assert_ne!(hash("|| x"), hash("| | x"));
        assert_ne!(hash("a::b"), hash("a: :b"));
        // Spacing that is only formatting is normalized.
        assert_eq!(hash("f::<Vec<u8>, u8>()"), hash("f::<Vec<u8> , u8>()"));
        assert_eq!(hash("x?;"), hash("x? ;"));
        assert_eq!(hash("x = !y"), hash("x =!y"));
        // Trailing commas are formatting, except the one that makes a one-element tuple.
        assert_eq!(hash("f(a, b,)"), hash("f(a, b)"));
        assert_eq!(hash("[a, b,]"), hash("[a, b]"));
        assert_eq!(hash("S { a: 1, b: 2, }"), hash("S { a: 1, b: 2 }"));
        assert_ne!(hash("(x,)"), hash("(x)"));
        assert_ne!(hash("(a, b,)"), hash("(a, b, ,)"));
        // The empty stream still hashes under the domain tag.
        assert_eq!(hash(""), hash("  // nothing \n"));
    }
}
