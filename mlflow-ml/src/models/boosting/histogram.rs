//! Gradient histograms: for every feature and bin, the sums of the gradients and hessians of a
//! node's samples in that bin, and their count. Built feature by feature (in parallel over
//! features for large nodes, each feature summed in sample order, so the sums never depend on the
//! thread count), or as a parent's histogram minus its other child's (the subtraction trick).

use super::binning::Binned;
use super::parallel::map_ranges;

/// Below this many (sample, feature) pairs a histogram is built on one thread.
const PARALLEL_MIN_WORK: usize = 1 << 16;

/// One bin of a histogram.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Bin {
    /// Sum of the gradients.
    pub g: f64,
    /// Sum of the hessians (left at 0 when the hessians are constant: use `count`).
    pub h: f64,
    /// Number of samples.
    pub count: u32,
}

/// The histograms of all features of one node: `bins[feature * n_bins + bin]`.
#[derive(Debug, Clone)]
pub(super) struct Histograms {
    pub bins: Vec<Bin>,
    pub n_bins: usize,
}

impl Histograms {
    /// The bins of one feature.
    pub fn feature(&self, f: usize) -> &[Bin] {
        &self.bins[f * self.n_bins..(f + 1) * self.n_bins]
    }

    /// Builds the histograms of the samples `indices` (all rows, in order, when `None`).
    pub fn build(
        binned: &Binned,
        indices: Option<&[u32]>,
        gradients: &[f32],
        hessians: Option<&[f32]>,
        n_bins: usize,
        threads: usize,
    ) -> Histograms {
        // Gradients in the node's sample order, so the inner loops read them contiguously.
        let gathered: Option<(Vec<f32>, Option<Vec<f32>>)> = indices.map(|idx| {
            let g = idx.iter().map(|&i| gradients[i as usize]).collect();
            let h = hessians.map(|h| idx.iter().map(|&i| h[i as usize]).collect());
            (g, h)
        });
        let (g, h): (&[f32], Option<&[f32]>) = match &gathered {
            Some((g, h)) => (g, h.as_deref()),
            None => (gradients, hessians),
        };
        let n_features = binned.columns.len();
        let work = g.len() * n_features;
        let threads = if work < PARALLEL_MIN_WORK { 1 } else { threads };
        let parts = map_ranges(n_features, threads, |features| {
            let mut out = vec![Bin::default(); features.len() * n_bins];
            for (f, hist) in features.zip(out.chunks_mut(n_bins)) {
                feature_histogram(&binned.columns[f], indices, g, h, hist);
            }
            out
        });
        Histograms { bins: parts.concat(), n_bins }
    }

    /// `parent - sibling`, bin by bin: the histograms of the parent's other child.
    pub fn subtract(parent: &Histograms, sibling: &Histograms) -> Histograms {
        let bins = parent
            .bins
            .iter()
            .zip(&sibling.bins)
            .map(|(p, s)| Bin { g: p.g - s.g, h: p.h - s.h, count: p.count - s.count })
            .collect();
        Histograms { bins, n_bins: parent.n_bins }
    }
}

fn feature_histogram(column: &[u8], indices: Option<&[u32]>, g: &[f32], h: Option<&[f32]>, hist: &mut [Bin]) {
    match (indices, h) {
        (None, None) => {
            for (&b, &g) in column.iter().zip(g) {
                let bin = &mut hist[b as usize];
                bin.g += f64::from(g);
                bin.count += 1;
            }
        }
        (None, Some(h)) => {
            for ((&b, &g), &h) in column.iter().zip(g).zip(h) {
                let bin = &mut hist[b as usize];
                bin.g += f64::from(g);
                bin.h += f64::from(h);
                bin.count += 1;
            }
        }
        (Some(idx), None) => {
            for (&i, &g) in idx.iter().zip(g) {
                let bin = &mut hist[column[i as usize] as usize];
                bin.g += f64::from(g);
                bin.count += 1;
            }
        }
        (Some(idx), Some(h)) => {
            for ((&i, &g), &h) in idx.iter().zip(g).zip(h) {
                let bin = &mut hist[column[i as usize] as usize];
                bin.g += f64::from(g);
                bin.h += f64::from(h);
                bin.count += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtraction_equals_brute_force() {
        let binned = Binned { columns: vec![vec![0, 1, 1, 2, 3, 0], vec![2, 2, 0, 1, 1, 3]], rows: 6 };
        let g = [0.5f32, -1.0, 2.0, 0.25, -0.5, 1.0];
        let h = [1.0f32, 2.0, 0.5, 1.0, 1.0, 0.25];
        let all = Histograms::build(&binned, None, &g, Some(&h), 4, 1);
        assert_eq!(all.feature(0)[1], Bin { g: 1.0, h: 2.5, count: 2 });
        let left = Histograms::build(&binned, Some(&[0, 2, 4]), &g, Some(&h), 4, 2);
        let right = Histograms::build(&binned, Some(&[1, 3, 5]), &g, Some(&h), 4, 1);
        assert_eq!(Histograms::subtract(&all, &left).bins, right.bins);
        let constant = Histograms::build(&binned, Some(&[1, 3, 5]), &g, None, 4, 1);
        assert_eq!(constant.feature(1)[3], Bin { g: 1.0, h: 0.0, count: 1 });
    }
}
