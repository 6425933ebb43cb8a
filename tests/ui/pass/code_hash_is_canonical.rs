//! The code hash ignores formatting, comments and doc comments, and sees every real edit.
#![deny(warnings)]

use mlflow::prelude::*;

mod tidy {
    use mlflow::prelude::*;

    /// Adds one to every element.
    #[step]
    pub fn bump(xs: &Vec<u32>, by: &u32) -> Vec<u32> {
        let out: Vec<u32> = xs.iter().map(|x| x + by).collect();
        out
    }
}

#[rustfmt::skip]
mod messy {
    use mlflow::prelude::*;

    #[step]
    pub fn bump (
        xs : & Vec < u32 > , // the values
        by:&u32,
    ) -> Vec<u32>
    {
        /* no comment */ let out : Vec<u32> = xs.iter()
            .map( | x | x+by ).collect() ;
        out
    }
}

mod edited {
    use mlflow::prelude::*;

    #[step]
    pub fn bump(xs: &Vec<u32>, by: &u32) -> Vec<u32> {
        let out: Vec<u32> = xs.iter().map(|x| x * by).collect();
        out
    }
}

mod retyped {
    use mlflow::prelude::*;

    #[step]
    pub fn bump(xs: &Vec<u32>, by: u32) -> Vec<u32> {
        let out: Vec<u32> = xs.iter().map(|x| x + by).collect();
        out
    }
}

fn main() {
    assert_eq!(tidy::BumpStep::CODE_HASH, messy::BumpStep::CODE_HASH);
    assert_ne!(tidy::BumpStep::CODE_HASH, edited::BumpStep::CODE_HASH);
    assert_ne!(tidy::BumpStep::CODE_HASH, retyped::BumpStep::CODE_HASH);
    assert_ne!(edited::BumpStep::CODE_HASH, retyped::BumpStep::CODE_HASH);
    let (a, b) = (vec![1, 2], 3);
    assert_eq!(tidy::BumpStep.call((&a, &b)).unwrap(), messy::BumpStep.call((&a, &b)).unwrap());
    assert_eq!(retyped::BumpStep.call((&a, &b)).unwrap(), vec![4, 5]);
    let _ = edited::BumpStep;
}
