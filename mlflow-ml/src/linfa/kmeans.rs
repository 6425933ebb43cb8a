//! linfa-clustering's k-means as a fitted feature transformer.

use linfa_clustering::KMeans;
use linfa_nn::distance::L2Dist;
use ndarray::{Array2, ArrayView1, ArrayView2};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::{FittedTransformer, KMEANS, check_training, invalid, linfa_error};
use crate::models::{ModelError, check_input};

/// What a [`LinfaKMeans`] appends to the features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum KMeansOutput {
    /// The Euclidean distance to each centroid, one column per cluster (`kmeans_dist_0`, ...):
    /// scikit-learn's `KMeans.transform`.
    #[default]
    Distances,
    /// The nearest cluster's id as a number (one column, `kmeans_cluster`).
    Cluster,
}

/// Hyperparameters of a [`LinfaKMeans`]; the defaults are linfa's (k-means++ start, 10 runs, at
/// most 300 iterations, tolerance `1e-4`), the start seeded by `seed`.
///
/// ```
/// use mlflow_ml::linfa::{KMeansOutput, LinfaKMeansParams};
/// let p = LinfaKMeansParams::new(3);
/// assert_eq!((p.n_clusters, p.n_runs, p.max_iterations, p.output), (3, 10, 300, KMeansOutput::Distances));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinfaKMeansParams {
    /// The number of clusters (`1..=rows`).
    pub n_clusters: usize,
    /// Runs from different starts; the one of least inertia is kept (`>= 1`).
    pub n_runs: usize,
    /// The most iterations of one run (`>= 1`).
    pub max_iterations: u64,
    /// A run stops when the centroids move less than this (`> 0`).
    pub tolerance: f64,
    /// Seeds the k-means++ starts: same data and seed, same clusters.
    pub seed: u64,
    /// What the transformer outputs.
    pub output: KMeansOutput,
}

impl LinfaKMeansParams {
    /// linfa's defaults for `n_clusters` clusters, seed 0, distances as output.
    pub fn new(n_clusters: usize) -> Self {
        LinfaKMeansParams {
            n_clusters,
            n_runs: 10,
            max_iterations: 300,
            tolerance: 1e-4,
            seed: 0,
            output: KMeansOutput::Distances,
        }
    }
}

/// A fitted linfa-clustering `KMeans<f64, L2Dist>` as a feature transformer.
///
/// [`LinfaKMeans::fit`] numbers the clusters in the order their first member appears in the
/// training rows (the cluster of row 0 is cluster 0), not in the order linfa's random start
/// found them, so the same clusters get the same ids and column names whatever the seed. linfa
/// runs "m_k-means" (each update counts the previous centroid as one more member), whose
/// centroids stop within its tolerance of their rows' mean; the adapter's fit finishes with
/// Lloyd's steps, so its centroids are the means of their rows, as scikit-learn's. The output is the Euclidean distance to every
/// centroid (linfa's own `transform` is the *squared* distance to the nearest one only) or the
/// nearest cluster's id (the first on a tie).
///
/// ```
/// use mlflow_ml::linfa::{FittedTransformer, KMeansOutput, LinfaKMeans, LinfaKMeansParams};
/// use ndarray::array;
/// let x = array![[10.0, 0.0], [10.5, 0.0], [0.0, 0.0], [0.5, 0.0]];
/// let km = LinfaKMeans::fit(x.view(), &LinfaKMeansParams::new(2))?;
/// assert_eq!(km.output_names(), ["kmeans_dist_0", "kmeans_dist_1"]);
/// assert_eq!(km.centroids(), array![[10.25, 0.0], [0.25, 0.0]]); // row 0's cluster first
/// let d = km.transform(array![[0.25, 0.0]].view())?;
/// assert_eq!(d, array![[10.0, 0.0]]);
/// let ids = km.with_output(KMeansOutput::Cluster).transform(x.view())?;
/// assert_eq!(ids.column(0).to_vec(), [0.0, 0.0, 1.0, 1.0]);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinfaKMeans {
    model: KMeans<f64, L2Dist>,
    /// The centroids, in the adapter's order.
    centroids: Array2<f64>,
    output: KMeansOutput,
    prefix: String,
}

impl LinfaKMeans {
    /// Fits linfa's k-means on finite `x`, then finishes with Lloyd's steps (each centroid the
    /// mean of its rows) until no row changes cluster, and numbers the clusters by their first row.
    pub fn fit(x: ArrayView2<'_, f64>, params: &LinfaKMeansParams) -> Result<Self, ModelError> {
        check_training(x)?;
        if params.n_clusters == 0 || params.n_clusters > x.nrows() {
            return Err(invalid(KMEANS, "n_clusters", params.n_clusters, "between 1 and the number of rows"));
        }
        if params.n_runs == 0 {
            return Err(invalid(KMEANS, "n_runs", 0, "at least 1"));
        }
        if params.max_iterations == 0 {
            return Err(invalid(KMEANS, "max_iterations", 0, "at least 1"));
        }
        if !(params.tolerance > 0.0 && params.tolerance.is_finite()) {
            return Err(invalid(KMEANS, "tolerance", params.tolerance, "a finite number > 0"));
        }
        use ::linfa::prelude::*;
        let dataset = ::linfa::DatasetBase::from(x.to_owned());
        let model = KMeans::params_with_rng(params.n_clusters, StdRng::seed_from_u64(params.seed))
            .n_runs(params.n_runs)
            .max_n_iterations(params.max_iterations)
            .tolerance(params.tolerance)
            .fit(&dataset)
            .map_err(|e| linfa_error(KMEANS, e))?;
        let mut km = Self::from_fitted(model)?.with_output(params.output);
        // linfa's centroids are m_k-means estimates (the previous centroid counts as one more
        // member), within its tolerance of their rows' mean: finish with Lloyd's steps.
        let mut ids = nearest(km.centroids.view(), x);
        for _ in 0..params.max_iterations {
            let mut sums = Array2::<f64>::zeros(km.centroids.dim());
            let mut counts = vec![0usize; km.centroids.nrows()];
            for (row, &id) in x.rows().into_iter().zip(&ids) {
                let mut sum = sums.row_mut(id);
                sum += &row;
                counts[id] += 1;
            }
            for ((mut c, sum), &n) in km.centroids.rows_mut().into_iter().zip(sums.rows()).zip(&counts) {
                if n > 0 {
                    c.assign(&(&sum / n as f64));
                }
            }
            let next = nearest(km.centroids.view(), x);
            if next == ids {
                break;
            }
            ids = next;
        }
        // Number the clusters in the order their first row appears.
        let mut order = Vec::with_capacity(km.centroids.nrows());
        for &id in ids.iter().chain(&(0..km.centroids.nrows()).collect::<Vec<_>>()) {
            if !order.contains(&id) {
                order.push(id);
            }
        }
        km.centroids = km.centroids.select(ndarray::Axis(0), &order);
        Ok(km)
    }

    /// Adapts a k-means model fitted with linfa (distances as output): its centroids and cluster
    /// numbers as linfa has them.
    ///
    /// ```
    /// use mlflow_ml::linfa::{FittedTransformer, LinfaKMeans, linfa::prelude::*, linfa_clustering::KMeans};
    /// use ndarray::array;
    /// let x = array![[0.0], [0.1], [5.0], [5.1]];
    /// let fitted = KMeans::params(2).fit(&DatasetBase::from(x.clone())).map_err(|e| e.to_string())?;
    /// let km = LinfaKMeans::from_fitted(fitted)?;
    /// assert_eq!(km.transform(x.view())?.ncols(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_fitted(model: KMeans<f64, L2Dist>) -> Result<Self, ModelError> {
        let centroids = model.centroids().clone();
        if centroids.nrows() == 0 || centroids.ncols() == 0 || centroids.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::Corrupt {
                model: KMEANS,
                detail: format!(
                    "{} x {} centroids, or some not finite",
                    centroids.nrows(),
                    centroids.ncols()
                ),
            });
        }
        Ok(LinfaKMeans { model, centroids, output: KMeansOutput::Distances, prefix: "kmeans".into() })
    }

    /// The same model with another output.
    pub fn with_output(mut self, output: KMeansOutput) -> Self {
        self.output = output;
        self
    }

    /// The same model with output columns named `{prefix}_dist_0`, ... (or `{prefix}_cluster`).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The fitted linfa model (its centroids before the Lloyd steps, in linfa's order).
    pub fn fitted(&self) -> &KMeans<f64, L2Dist> {
        &self.model
    }

    /// The number of clusters.
    pub fn n_clusters(&self) -> usize {
        self.centroids.nrows()
    }

    /// The centroids, one row per cluster in the adapter's order.
    pub fn centroids(&self) -> &Array2<f64> {
        &self.centroids
    }

    /// The nearest cluster of each row (the first on a tie).
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Vec<usize>, ModelError> {
        check_input(x, self.n_features())?;
        Ok(nearest(self.centroids.view(), x))
    }

    fn distances(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError> {
        check_input(x, self.n_features())?;
        let mut out = Array2::zeros((x.nrows(), self.centroids.nrows()));
        for (row, mut d) in x.rows().into_iter().zip(out.rows_mut()) {
            for (c, d) in self.centroids.rows().into_iter().zip(d.iter_mut()) {
                *d = squared_distance(row, c).sqrt();
            }
        }
        Ok(out)
    }
}

fn squared_distance(a: ArrayView1<'_, f64>, b: ArrayView1<'_, f64>) -> f64 {
    a.iter().zip(b).map(|(u, v)| (u - v) * (u - v)).sum()
}

/// The index of the nearest centroid of each row, the first on a tie.
fn nearest(centroids: ArrayView2<'_, f64>, x: ArrayView2<'_, f64>) -> Vec<usize> {
    x.rows()
        .into_iter()
        .map(|row| {
            let mut best = (0, f64::INFINITY);
            for (i, c) in centroids.rows().into_iter().enumerate() {
                let d = squared_distance(row, c);
                if d < best.1 {
                    best = (i, d);
                }
            }
            best.0
        })
        .collect()
}

impl FittedTransformer for LinfaKMeans {
    fn n_features(&self) -> usize {
        self.centroids.ncols()
    }

    fn output_names(&self) -> Vec<String> {
        match self.output {
            KMeansOutput::Distances => {
                (0..self.n_clusters()).map(|i| format!("{}_dist_{i}", self.prefix)).collect()
            }
            KMeansOutput::Cluster => vec![format!("{}_cluster", self.prefix)],
        }
    }

    fn transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError> {
        match self.output {
            KMeansOutput::Distances => self.distances(x),
            KMeansOutput::Cluster => {
                let ids = self.predict(x)?;
                Ok(Array2::from_shape_fn((ids.len(), 1), |(i, _)| ids[i] as f64))
            }
        }
    }
}
