//! The Open Inference Protocol (KServe V2) `infer` body parser: JSON tensors → rows checked
//! against a model's signature, then scored. Runs every input against a plain scorer and one
//! with an input scaler.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mlflow_serve::server::parse_infer_body;
use mlflow_serve::Scorer;
use ndarray::ArrayView2;

static SCORERS: OnceLock<Vec<Scorer>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    for scorer in SCORERS.get_or_init(mlflow_fuzz::scorers) {
        match parse_infer_body(data, scorer) {
            Ok((values, columns)) => {
                assert_eq!(columns, scorer.names().len());
                assert!(!values.is_empty() && values.len() % columns == 0);
                assert!(values.iter().all(|v| v.is_finite()), "accepted values are finite");
                let rows = values.len() / columns;
                let x = ArrayView2::from_shape((rows, columns), &values).expect("shape");
                if let Ok(predictions) = scorer.score_batch(x) {
                    assert_eq!(predictions.len(), rows);
                    for p in predictions {
                        assert!((0.0..=1.0).contains(&p.probability), "{}", p.probability);
                    }
                }
            }
            Err((code, message)) => {
                assert!(!code.is_empty() && !message.is_empty());
            }
        }
    }
});
