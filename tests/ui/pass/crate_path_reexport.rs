//! `#[step(crate = path)]` and `#[helper(crate = path)]`: the generated code names the runtime
//! through `path::__private`, for crates that re-export mlflow under another path.
#![deny(warnings)]

/// A framework crate re-exporting mlflow as `my_framework::engine`.
mod my_framework {
    pub use mlflow as engine;
    pub use mlflow::prelude::{helper, step};
}

mod user {
    use super::my_framework::{self, engine::prelude::*};

    #[my_framework::helper(crate = my_framework::engine)]
    pub fn offset(x: u64) -> u64 {
        x + 1
    }

    #[my_framework::step(crate = my_framework::engine, retries = 1)]
    pub fn shifted(x: &u64) -> u64 {
        offset(*x)
    }

    #[step(crate = crate::my_framework::engine)]
    pub fn doubled(x: &u64) -> u64 {
        x * 2
    }

    pub fn pipeline() -> (Pipeline, Node<u64>) {
        let mut p = Pipeline::new("reexport");
        let x = p.param("x", 20u64);
        let y = p.step(ShiftedStep, x);
        let z = p.step(DoubledStep, y);
        (p, z)
    }
}

fn main() {
    use mlflow::step::Step;
    let (p, z) = user::pipeline();
    let dir = std::env::temp_dir().join(format!("mlflow-ui-reexport-{}", std::process::id()));
    let store = mlflow::store::Store::open(&dir).unwrap();
    assert_eq!(*p.run(&store).unwrap().get(z).unwrap(), 42);
    std::fs::remove_dir_all(&dir).ok();
    let helpers = user::ShiftedStep::helpers();
    assert_eq!(helpers.len(), 1);
    assert_eq!(helpers[0].name, "offset");
    assert_eq!(user::ShiftedStep::OPTIONS.retries, 1);
}
