//! A label as a user gives it (JSON or text) to a [`TrueValue`], by the model's task and classes.

use serde_json::Value;

use super::TrueValue;
use crate::ModelPackage;
use mlflow_core::text::escape_controls as esc;
use mlflow_ml::features::{ClassLabel, ClassLabels};
use mlflow_ml::models::Task;

/// Longest label text quoted in a message.
const MAX_SHOWN: usize = 64;

/// Maps labels as users give them to [`TrueValue`]s: for a classifier, the class as its label
/// column held it (`1`, `-1`, `"setosa"`; a number given as text, `"1"`, is that number) to its
/// class index; for a regressor, a finite number. Errors say what was given and what the
/// model knows (its classes).
///
/// ```
/// use mlflow_ml::features::{ClassLabel, ClassLabels};
/// use mlflow_ml::models::Task;
/// use mlflow_serve::{LabelMapping, TrueValue};
/// let species = ClassLabels::new(["setosa", "versicolor"].map(|s| ClassLabel::Text(s.into())).to_vec());
/// let mapping = LabelMapping::new(Task::Classification { classes: 2 }, Some(&species));
/// assert_eq!(mapping.map_json(&serde_json::json!("versicolor")), Ok(TrueValue::Class(1)));
/// let err = mapping.map_text("rose").unwrap_err();
/// assert!(err.contains("setosa, versicolor"), "{err}");
///
/// let price = LabelMapping::new(Task::Regression, None);
/// assert_eq!(price.map_text(" 12.5 "), Ok(TrueValue::Value(12.5)));
/// assert!(price.map_json(&serde_json::json!("cheap")).is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LabelMapping {
    task: Task,
    /// The classes in class-index order (numbered `0..n` when the package names none).
    classes: ClassLabels,
}

impl LabelMapping {
    /// Labels of a model of this task, whose classes are `classes` (class indices `0..n` when
    /// `None`).
    ///
    /// See [`LabelMapping`] for an example.
    pub fn new(task: Task, classes: Option<&ClassLabels>) -> LabelMapping {
        let classes = match (task, classes) {
            (Task::Regression, _) => ClassLabels::new(Vec::new()),
            (_, Some(classes)) => classes.clone(),
            (Task::Classification { classes }, None) => ClassLabels::numbered(classes),
        };
        LabelMapping { task, classes }
    }

    /// The labels of a package's model: its task and its classes.
    ///
    /// ```
    /// use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
    /// use mlflow_serve::{LabelMapping, Lineage, ModelPackage, TrueValue};
    /// use ndarray::array;
    /// let x = array![[0.0, 1.0], [0.2, 1.0], [2.0, 0.0], [2.2, 0.0]];
    /// let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
    /// let package = ModelPackage::new("nb", model, None, &["a", "b"], x.view(), Lineage::default())?;
    /// assert_eq!(LabelMapping::for_package(&package).map_json(&1.into()), Ok(TrueValue::Class(1)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn for_package(package: &ModelPackage) -> LabelMapping {
        LabelMapping::new(package.task(), package.classes())
    }

    /// The model's task.
    ///
    /// ```
    /// use mlflow_ml::models::Task;
    /// assert_eq!(mlflow_serve::LabelMapping::new(Task::Regression, None).task(), Task::Regression);
    /// ```
    pub fn task(&self) -> Task {
        self.task
    }

    /// The class label of a class index, as the label column held it (`None` for a regressor
    /// or an index out of range).
    ///
    /// ```
    /// use mlflow_ml::models::Task;
    /// let mapping = mlflow_serve::LabelMapping::new(Task::Classification { classes: 2 }, None);
    /// assert_eq!(mapping.class_label(1).map(|l| l.to_string()), Some("1".into()));
    /// ```
    pub fn class_label(&self, index: u32) -> Option<&ClassLabel> {
        self.classes.label(index as usize)
    }

    /// A label given as JSON: a number or a string for a class, a number for a regressor. The
    /// error says what was given and what to send.
    ///
    /// See [`LabelMapping`] for an example.
    pub fn map_json(&self, value: &Value) -> Result<TrueValue, String> {
        match value {
            Value::String(text) => self.map_text(text),
            Value::Number(n) => match self.task {
                Task::Regression => match n.as_f64() {
                    Some(v) if v.is_finite() => Ok(TrueValue::Value(v)),
                    _ => Err(format!("`{n}` is not a finite number; send the true value")),
                },
                Task::Classification { .. } => match n.as_i64().or_else(|| whole(n.as_f64()?)) {
                    Some(v) => self.class(&ClassLabel::Int(v), &n.to_string()),
                    None => {
                        Err(format!("`{n}` is not a class of this model; its classes are {}", self.known()))
                    }
                },
            },
            Value::Null => Err(format!("the label is missing; send {}", self.expected())),
            other => Err(format!("the label is {}, not {}", kind(other), self.expected())),
        }
    }

    /// A label given as text (a CSV cell): for a classifier, a text class as given, else a
    /// number given as text (`1`, `1.0`); for a regressor, a number. Surrounding spaces are
    /// ignored.
    ///
    /// See [`LabelMapping`] for an example.
    pub fn map_text(&self, text: &str) -> Result<TrueValue, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(format!("the label is empty; send {}", self.expected()));
        }
        let number = trimmed.parse::<f64>().ok();
        match self.task {
            Task::Regression => match number {
                Some(v) if v.is_finite() => Ok(TrueValue::Value(v)),
                _ => Err(format!("`{}` is not a finite number; send the true value", shown(trimmed))),
            },
            Task::Classification { .. } => {
                let as_text = ClassLabel::Text(trimmed.to_owned());
                if self.classes.index_of(&as_text).is_some() {
                    return self.class(&as_text, trimmed);
                }
                match trimmed.parse::<i64>().ok().or_else(|| whole(number?)) {
                    Some(v) => self.class(&ClassLabel::Int(v), trimmed),
                    None => self.class(&as_text, trimmed),
                }
            }
        }
    }

    fn class(&self, label: &ClassLabel, given: &str) -> Result<TrueValue, String> {
        match self.classes.index_of(label).and_then(|i| u32::try_from(i).ok()) {
            Some(index) => Ok(TrueValue::Class(index)),
            None => Err(format!(
                "`{}` is not a class of this model; its classes are {}",
                shown(given),
                self.known()
            )),
        }
    }

    /// The classes, quoted for messages (at most 20 of them).
    fn known(&self) -> String {
        let labels = self.classes.labels();
        let mut text =
            labels.iter().take(20).map(|l| esc(&l.to_string()).into_owned()).collect::<Vec<_>>().join(", ");
        if labels.len() > 20 {
            text.push_str(&format!(", ... ({} classes)", labels.len()));
        }
        text
    }

    fn expected(&self) -> String {
        match self.task {
            Task::Regression => "the true value, a number".to_owned(),
            Task::Classification { .. } => format!("one of the classes {}", self.known()),
        }
    }
}

/// A whole-number float as an integer (`1.0` → 1).
fn whole(v: f64) -> Option<i64> {
    (v.fract() == 0.0 && v.abs() < 9.0e15).then_some(v as i64)
}

/// A user's text as quoted in messages: cut, control characters escaped.
fn shown(text: &str) -> String {
    let cut = match text.char_indices().nth(MAX_SHOWN) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    };
    esc(&cut).into_owned()
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_map_integer_text_and_numbered_classes() {
        let binary = ClassLabels::new(vec![ClassLabel::Int(-1), ClassLabel::Int(1)]);
        let m = LabelMapping::new(Task::Classification { classes: 2 }, Some(&binary));
        assert_eq!(m.map_json(&json!(-1)), Ok(TrueValue::Class(0)));
        assert_eq!(m.map_json(&json!(1.0)), Ok(TrueValue::Class(1)));
        assert_eq!(m.map_json(&json!("1")), Ok(TrueValue::Class(1)));
        assert_eq!(m.map_text("-1"), Ok(TrueValue::Class(0)));
        for bad in [json!(0), json!(0.5), json!("yes")] {
            let err = m.map_json(&bad).unwrap_err();
            assert!(err.contains("not a class of this model; its classes are -1, 1"), "{bad}: {err}");
        }
        assert!(m.map_json(&json!(null)).unwrap_err().contains("missing"));
        assert!(m.map_json(&json!([1])).unwrap_err().contains("a list"));
        assert!(m.map_text("  ").unwrap_err().contains("empty"));

        let numbered = LabelMapping::new(Task::Classification { classes: 3 }, None);
        assert_eq!(numbered.map_text("2"), Ok(TrueValue::Class(2)));
        assert!(numbered.map_text("3").unwrap_err().contains("0, 1, 2"));

        // A text class that looks like a number is found as text first.
        let text = ClassLabels::new(vec![ClassLabel::Text("01".into()), ClassLabel::Text("b".into())]);
        let m = LabelMapping::new(Task::Classification { classes: 2 }, Some(&text));
        assert_eq!(m.map_text("01"), Ok(TrueValue::Class(0)));
        assert!(m.map_json(&json!(1)).is_err());

        let r = LabelMapping::new(Task::Regression, None);
        assert_eq!(r.map_json(&json!(-2)), Ok(TrueValue::Value(-2.0)));
        assert!(r.map_text("inf").unwrap_err().contains("not a finite number"));
        assert!(r.map_text("NaN").is_err());
        assert!(r.map_json(&json!(true)).unwrap_err().contains("a boolean"));
    }
}
