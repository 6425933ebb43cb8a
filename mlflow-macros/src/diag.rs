//! Collecting spanned errors, so one expansion reports every mistake at once.

use std::fmt::Display;

use quote::ToTokens;

/// An accumulator of `syn::Error`s, combined in the order they were found.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    /// Adds an error.
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(first) => first.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Adds an error covering the tokens of `node`.
    pub fn spanned(&mut self, node: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(node, message));
    }

    /// Takes the errors out, leaving the accumulator empty.
    pub fn take(&mut self) -> Option<syn::Error> {
        self.0.take()
    }
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|&(d, c)| d <= 2.max(c.len() / 2) && d < c.len())
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != cb)).min(row[j] + 1).min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("retry", "retries"), 3);
        assert_eq!(edit_distance("chache", "cache"), 1);
        assert_eq!(edit_distance("timout", "timeout"), 1);
        assert_eq!(edit_distance("abc", ""), 3);
    }

    #[test]
    fn suggestions() {
        let known = ["name", "version", "deps", "cache", "retries", "backoff", "timeout"];
        assert_eq!(did_you_mean("chache", &known), Some("cache"));
        assert_eq!(did_you_mean("retry", &known), Some("retries"));
        assert_eq!(did_you_mean("timout", &known), Some("timeout"));
        assert_eq!(did_you_mean("dep", &known), Some("deps"));
        assert_eq!(did_you_mean("colour", &known), None);
        assert_eq!(did_you_mean("x", &known), None);
    }
}
