//! Softmax over one row of scores (log-likelihoods or logits), shared by the multiclass models.

/// Turns `scores` into probabilities in place: `exp(s_c - m) / sum_d exp(s_d - m)` with
/// `m = max_c s_c`, so nothing overflows, which equals scikit-learn's `exp(s - logsumexp(s))` up
/// to rounding. When the largest score is not finite (every score `-inf`, or some `+inf`), the
/// classes holding it share the probability equally; when every score is NaN all classes do.
pub(super) fn softmax_in_place(scores: &mut [f64]) {
    let m = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        let top = scores.iter().filter(|&&s| s == m).count();
        let (hit, share) =
            if top == 0 { (None, 1.0 / scores.len() as f64) } else { (Some(m), 1.0 / top as f64) };
        for s in scores.iter_mut() {
            *s = match hit {
                Some(m) if *s != m => 0.0,
                _ => share,
            };
        }
        return;
    }
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - m).exp();
        sum += *s;
    }
    for s in scores.iter_mut() {
        *s /= sum;
    }
}

/// `log(sum_c exp(s_c))` without overflow; `-inf` when every score is `-inf`.
pub(super) fn log_sum_exp(scores: &[f64]) -> f64 {
    let m = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + scores.iter().map(|s| (s - m).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_without_overflow() {
        let mut s = [1000.0, 1001.0, 999.0];
        softmax_in_place(&mut s);
        assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert!(s[1] > s[0] && s[0] > s[2]);
        let mut s = [f64::NEG_INFINITY, 0.0, f64::NEG_INFINITY];
        softmax_in_place(&mut s);
        assert_eq!(s, [0.0, 1.0, 0.0]);
        let mut s = [f64::NEG_INFINITY; 4];
        softmax_in_place(&mut s);
        assert_eq!(s, [0.25; 4]);
        let mut s = [f64::NAN; 2];
        softmax_in_place(&mut s);
        assert_eq!(s, [0.5; 2]);
    }

    #[test]
    fn log_sum_exp_is_stable() {
        assert!((log_sum_exp(&[1000.0, 1000.0]) - (1000.0 + 2f64.ln())).abs() < 1e-12);
        assert_eq!(log_sum_exp(&[f64::NEG_INFINITY, f64::NEG_INFINITY]), f64::NEG_INFINITY);
        assert!((log_sum_exp(&[0.0, 0.0, 0.0]) - 3f64.ln()).abs() < 1e-15);
    }
}
