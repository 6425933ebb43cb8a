//! `ModelPackage::from_bytes`. The first byte picks the mode: even, the rest is the file as is
//! (magic, version, length, BLAKE3, body); odd, the rest is a body, wrapped in a header with
//! the right length and hash, so that the fuzzer reaches the body decoder, the consistency
//! checks and the self-test.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlflow_serve::{ModelPackage, Scorer};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let wrapped;
    let file = if mode & 1 == 0 {
        rest
    } else {
        wrapped = mlflow_fuzz::package_file(rest);
        &wrapped
    };
    let Ok(package) = ModelPackage::from_bytes(file) else { return };
    // An accepted package is whole: it re-encodes to a package that loads, and it scores.
    let bytes = package.to_bytes().expect("re-encode");
    let again = ModelPackage::from_bytes(&bytes).expect("reload");
    assert_eq!(again.to_bytes().expect("re-encode"), bytes);
    let n = package.signature().names().len();
    let scorer = Scorer::new(package);
    let (rows, _) = scorer.package().self_test();
    if let Some(row) = rows.rows().into_iter().next() {
        let row = row.to_vec();
        scorer.score_row(&row).expect("a self-tested row scores");
    }
    for value in [0.0, -1.0, 1e6] {
        let _ = scorer.score_row(&vec![value; n]);
    }
});
