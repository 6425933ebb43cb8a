//! Compile-time checks of `#[step]` and `#[helper]`: what must compile (and run), and what must
//! fail with a clear message. Regenerate the expected `.stderr` files with
//! `TRYBUILD=overwrite cargo test --test ui`, then read every one of them.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
