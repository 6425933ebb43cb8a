//! Compile-time checks of `#[step]` and `#[helper]`: what must compile (and run), and what must
//! fail with a clear message. Regenerate the expected `.stderr` files with
//! `TRYBUILD=overwrite cargo test --workspace --test ui` (with `--workspace`, as CI runs it: the
//! features the workspace unifies change how rustc spells a few std paths in its notes), then
//! read every one of them.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
