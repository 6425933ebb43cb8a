//! A feature spec inferred from a table: what a newcomer gets before writing their own.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Encoder, Feature, FeatureSpec, Imputer, Unseen};
use crate::data::{Column, Table};

/// How [`infer_spec`] picks features from a table's columns.
///
/// Numeric columns become features with their missing values imputed by the training median;
/// text columns with at most `max_categories` distinct training values become integer codes
/// (missing values imputed by the most frequent category, categories unseen in training coded
/// one past the known ones); other text columns (names, free text, identifiers) are left out and
/// listed in [`Inferred::dropped`]. The columns in `exclude` (the label, ids) are never features.
///
/// ```
/// use mlflow_ml::features::Inference;
/// let rules = Inference::excluding(["Survived", "PassengerId"]).max_categories(10);
/// assert_eq!(rules.exclude, ["Survived", "PassengerId"]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inference {
    /// Columns that are never features.
    pub exclude: Vec<String>,
    /// The most distinct training values a text column may have to be encoded (default 20).
    pub max_categories: usize,
}

impl Inference {
    /// Rules leaving out `exclude`, encoding text columns of up to 20 categories.
    pub fn excluding<S: Into<String>>(exclude: impl IntoIterator<Item = S>) -> Self {
        Inference { exclude: exclude.into_iter().map(Into::into).collect(), max_categories: 20 }
    }

    /// Sets the most distinct values a text column may have to be encoded.
    pub fn max_categories(mut self, n: usize) -> Self {
        self.max_categories = n;
        self
    }
}

/// What [`infer_spec`] decided: the spec, and each column it left out with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inferred {
    /// The features, in column order.
    pub spec: FeatureSpec,
    /// `(column, why it is not a feature)`, in column order.
    pub dropped: Vec<(String, String)>,
}

/// Infers a feature spec from `table`'s columns, looking only at `train_rows` (so that the
/// hold-out rows cannot influence which categories exist). See [`Inference`] for the rules.
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::features::{Inference, infer_spec};
/// let t = Table::new(vec![
///     ("age".into(), Column::Float(vec![Some(30.0), None, Some(50.0)])),
///     ("port".into(), Column::Str(vec![Some("S".into()), Some("C".into()), None])),
///     ("name".into(), Column::Str(vec![Some("Ann".into()), Some("Bo".into()), Some("Cy".into())])),
///     ("label".into(), Column::Int(vec![Some(0), Some(1), Some(0)])),
/// ])?;
/// let inferred = infer_spec(&t, &[0, 1, 2], &Inference::excluding(["label"]).max_categories(2));
/// let names: Vec<&str> = inferred.spec.features.iter().map(|f| f.name.as_str()).collect();
/// assert_eq!(names, ["age", "port"]);
/// assert_eq!(inferred.dropped[0].0, "name");
/// let m = inferred.spec.fit(&t, &[0, 1, 2])?.transform(&t)?;
/// assert_eq!(m.x.column(0).to_vec(), [30.0, 40.0, 50.0]); // the median fills the gap
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn infer_spec(table: &Table, train_rows: &[usize], rules: &Inference) -> Inferred {
    let mut spec = FeatureSpec::new();
    let mut dropped = Vec::new();
    for (name, column) in table.iter() {
        if rules.exclude.iter().any(|e| e == name) {
            continue;
        }
        let present = train_rows.iter().filter(|&&r| !column.is_missing(r)).count();
        if present == 0 {
            dropped.push((name.to_owned(), "no value in the training rows".to_owned()));
            continue;
        }
        match column {
            Column::Int(_) | Column::Float(_) => {
                spec = spec.with(Feature::column(name).then(Imputer::median()));
            }
            Column::Str(values) => {
                let categories: BTreeSet<&str> =
                    train_rows.iter().filter_map(|&r| values.get(r)?.as_deref()).collect();
                if categories.len() > rules.max_categories {
                    dropped.push((
                        name.to_owned(),
                        format!(
                            "text with {} distinct training values (more than {}); encode it in a feature spec of your own",
                            categories.len(),
                            rules.max_categories
                        ),
                    ));
                    continue;
                }
                spec = spec.with(
                    Feature::column(name)
                        .then(Imputer::most_frequent())
                        .then(Encoder::learned().unseen(Unseen::Reserved)),
                );
            }
        }
    }
    Inferred { spec, dropped }
}
