//! The face of every regression model, and the checks of regression training data.

use ndarray::{Array1, ArrayView2};

use super::{ModelError, TRAINING, check_finite};

/// The one face of every regression model: a real-valued prediction per row.
///
/// Object-safe, so a pipeline can hold `Box<dyn Regressor>`. [`Regressor::predict`] fails with
/// [`ModelError::FeatureCount`] when the input has the wrong number of columns and with
/// [`ModelError::NonFinite`] (naming the row and column) on NaN or infinite values, as
/// [`Classifier`](super::Classifier) does; zero rows give an empty array.
///
/// ```
/// use mlflow_ml::models::{LinearParams, LinearRegression, ModelError, Regressor};
/// use ndarray::array;
/// let x = array![[0.0], [1.0], [2.0], [3.0]];
/// let y = [1.0, 3.0, 5.0, 7.0];
/// let models: Vec<Box<dyn Regressor>> = vec![
///     Box::new(LinearRegression::fit(x.view(), &y, &LinearParams::default())?),
///     Box::new(LinearRegression::fit(x.view(), &y, &LinearParams::ridge(1.0))?),
/// ];
/// for m in &models {
///     assert_eq!(m.n_features(), 1);
///     let p = m.predict(array![[1.5]].view())?;
///     assert!((p[0] - 4.0).abs() < 1e-12);
///     let err = m.predict(array![[1.0, 2.0]].view()).unwrap_err();
///     assert_eq!(err, ModelError::FeatureCount { expected: 1, found: 2 });
/// }
/// # Ok::<(), ModelError>(())
/// ```
pub trait Regressor {
    /// The number of feature columns the model was fitted on (and expects at prediction time).
    fn n_features(&self) -> usize;

    /// The predicted value for every row of `x`.
    ///
    /// Fails with [`ModelError::FeatureCount`] when `x` has the wrong number of columns and with
    /// [`ModelError::NonFinite`] on NaN or infinite values. Zero rows give an empty array.
    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>, ModelError>;
}

/// Checks regression training data: at least one row and one column, one finite target per row,
/// finite features.
pub(crate) fn check_regression_training(x: ArrayView2<'_, f64>, y: &[f64]) -> Result<(), ModelError> {
    let (rows, columns) = x.dim();
    if rows == 0 || columns == 0 {
        return Err(ModelError::Empty { what: TRAINING, rows, columns });
    }
    if y.len() != rows {
        return Err(ModelError::TargetCount { rows, targets: y.len() });
    }
    check_finite(x, TRAINING)?;
    if let Some((row, &value)) = y.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(ModelError::NonFiniteTarget { row, value });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};

    #[test]
    fn checks_say_where() {
        let x = array![[1.0, 2.0], [3.0, 4.0]];
        assert_eq!(check_regression_training(x.view(), &[1.0, 2.0]), Ok(()));
        assert_eq!(
            check_regression_training(x.view(), &[1.0]),
            Err(ModelError::TargetCount { rows: 2, targets: 1 })
        );
        assert!(matches!(
            check_regression_training(x.view(), &[1.0, f64::NAN]),
            Err(ModelError::NonFiniteTarget { row: 1, .. })
        ));
        let bad = array![[1.0, 2.0], [f64::NEG_INFINITY, 4.0]];
        assert_eq!(
            check_regression_training(bad.view(), &[1.0, 2.0]),
            Err(ModelError::NonFinite { what: TRAINING, row: 1, column: 0, value: f64::NEG_INFINITY })
        );
        let empty = Array2::<f64>::zeros((0, 2));
        assert_eq!(
            check_regression_training(empty.view(), &[]),
            Err(ModelError::Empty { what: TRAINING, rows: 0, columns: 2 })
        );
    }
}
