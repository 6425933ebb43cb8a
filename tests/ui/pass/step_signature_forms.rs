//! Signature forms that are accepted: visibility, lifetimes on argument references, patterns,
//! `const fn`, `#[cfg]`, raw identifiers, many inputs.
#![deny(warnings)]
#![allow(clippy::non_minimal_cfg, clippy::needless_lifetimes, clippy::bool_assert_comparison)]

use mlflow::prelude::*;

pub mod inner {
    use mlflow::prelude::*;

    #[step]
    pub(crate) fn visible(x: &u8) -> u8 {
        *x
    }
}

#[step]
fn longest<'a, 'b>(a: &'a String, b: &'b String) -> String {
    if a.len() >= b.len() {
        a.clone()
    } else {
        b.clone()
    }
}

#[step]
fn swap((a, b): &(u8, u16), _unused: &u8) -> (u16, u8) {
    (*b, *a)
}

#[step]
const fn constant() -> u8 {
    7
}

#[cfg(any())]
#[step]
fn compiled_out(x: &NotEvenAType) -> u8 {
    0
}

// `#[cfg]` after `#[step]` is copied onto the generated items.
#[step]
#[cfg(any())]
fn also_compiled_out(x: &u8) -> u8 {
    *x
}

#[step]
#[cfg(all())]
fn compiled_in(x: &u8) -> u8 {
    *x
}

#[step]
fn r#match(x: &bool) -> bool {
    !x
}

#[step]
fn twelve(
    a: &u8,
    b: &u8,
    c: &u8,
    d: &u8,
    e: &u8,
    f: &u8,
    g: &u8,
    h: &u8,
    i: &u8,
    j: &u8,
    k: &u8,
    l: u8,
) -> u32 {
    [a, b, c, d, e, f, g, h, i, j, k, &l].iter().map(|&&x| u32::from(x)).sum()
}

fn main() {
    assert_eq!(inner::VisibleStep.call((&3,)).unwrap(), 3);
    assert_eq!(LongestStep.call((&"ab".to_string(), &"abc".to_string())).unwrap(), "abc");
    assert_eq!(SwapStep.call((&(1, 2), &0)).unwrap(), (2, 1));
    assert_eq!(ConstantStep.call(()).unwrap(), 7);
    assert_eq!(MatchStep.call((&true,)).unwrap(), false);
    assert_eq!(MatchStep::NAME, "match");
    assert_eq!(CompiledInStep.call((&5,)).unwrap(), 5);
    assert_eq!(TwelveStep.call((&1, &1, &1, &1, &1, &1, &1, &1, &1, &1, &1, &1)).unwrap(), 12);
}
