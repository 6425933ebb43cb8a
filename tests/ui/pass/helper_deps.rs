//! Helpers with their own deps, generic helpers, and steps depending on them by path.
#![deny(warnings)]

use mlflow::prelude::*;
use mlflow::step::Helper;

#[helper]
fn clamp01(x: f64) -> f64 {
    x.clamp(0.0, 1.0)
}

pub mod scaling {
    use mlflow::prelude::*;

    #[helper(deps = [super::clamp01])]
    pub fn scale(x: f64) -> f64 {
        super::clamp01(x / 100.0)
    }

    /// Generic helpers are fine: only their tokens are hashed.
    #[helper]
    pub(crate) fn total<T: Copy + Into<f64>>(xs: &[T]) -> f64 {
        xs.iter().map(|&x| x.into()).sum()
    }
}

#[helper(deps = [scaling::scale, scaling::total])]
fn scaled_total(xs: &[f64]) -> f64 {
    scaling::scale(scaling::total(xs))
}

#[step(deps = [scaled_total])]
fn summarize(xs: &Vec<f64>) -> f64 {
    scaled_total(xs)
}

fn main() {
    // The helpers are still plain functions.
    assert_eq!(clamp01(2.0), 1.0);
    assert_eq!(scaling::total(&[1u8, 2u8]), 3.0);
    assert_eq!(SummarizeStep.call((&vec![10.0, 20.0],)).unwrap(), 0.3);

    // Hashes are stable and distinct; deps change a helper's hash.
    let hashes = [
        <clamp01 as Helper>::code_hash(),
        <scaling::scale as Helper>::code_hash(),
        <scaling::total as Helper>::code_hash(),
        <scaled_total as Helper>::code_hash(),
    ];
    assert_eq!(hashes[0], <clamp01 as Helper>::code_hash());
    for (i, a) in hashes.iter().enumerate() {
        for b in &hashes[i + 1..] {
            assert_ne!(a, b);
        }
    }
    assert_eq!(SummarizeStep::DEPS.len(), 1);
    assert_eq!((SummarizeStep::DEPS[0])(), hashes[3]);
}
