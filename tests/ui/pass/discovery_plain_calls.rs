//! Helper discovery probes every name a step calls; names that are not helpers (plain and std
//! functions, closures, locals, tuple-struct constructors, enum variants, macros, functions
//! declared in the body, methods) compile and add nothing.
#![deny(warnings)]
#![allow(clippy::redundant_closure)]

use std::collections::BTreeMap;

use mlflow::prelude::*;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Meters(f64);

pub fn plain(x: f64) -> f64 {
    x + 1.0
}

/// A module with a function of the same name, called by path.
pub mod parse {
    pub fn parse(x: f64) -> f64 {
        x
    }
}

pub mod util {
    pub fn halve(x: f64) -> f64 {
        x / 2.0
    }
    pub const LIMIT: f64 = 100.0;
}

#[helper]
fn clamp(x: f64) -> f64 {
    x.min(util::LIMIT)
}

#[step]
fn everything(xs: &Vec<f64>, label: &String) -> (Meters, BTreeMap<String, f64>, String) {
    let scale = |v: f64| v * 2.0;
    let count = xs.len();
    fn inner(v: f64) -> f64 {
        v - 1.0
    }
    let total: f64 = xs.iter().copied().map(plain).map(scale).map(|v| inner(v)).sum();
    let total = util::halve(std::convert::identity(total)) + f64::max(0.0, 1.0) + parse::parse(0.0);
    let mut map = BTreeMap::new();
    map.insert(format!("{label}:{}", count), clamp(total));
    let parts = vec![plain(1.0), scale(2.0), Some(3.0).unwrap_or_default()];
    assert!(parts.iter().all(|p| p.is_finite()), "{}", plain(0.0));
    let summary = String::from(label.as_str()) + &parts.len().to_string();
    let wrapped = Some(Meters(total)).map(Meters::from_f64).unwrap_or(Meters(0.0));
    (wrapped, map, summary)
}

impl Meters {
    fn from_f64(m: Meters) -> Meters {
        Meters(m.0)
    }
}

fn main() {
    let helpers = EverythingStep::helpers();
    assert_eq!(helpers.len(), 1, "{helpers:?}");
    assert_eq!(helpers[0].name, "clamp");
    let (m, map, s) = everything(&vec![1.0, 2.0], &"x".to_string());
    assert_eq!(m, Meters(5.0));
    assert_eq!(map.len(), 1);
    assert_eq!(s, "x3");
}
