//! Exact changes of unit: multiplying by a power of two changes no digit of a normal number, so
//! a computation can run on numbers brought near 1 (where squares neither overflow nor underflow)
//! and give the same bits as in the original unit.

/// `floor(log2(x))` for a finite `x > 0`, subnormal numbers included.
pub(crate) fn binary_exponent(x: f64) -> i32 {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: x = mantissa * 2^-1074.
        let mantissa = bits & ((1u64 << 52) - 1);
        63 - mantissa.leading_zeros() as i32 - 1074
    } else {
        biased - 1023
    }
}

/// `x * 2^k` for `k` in `-2044..=2046`, exact whenever the result is a normal number (applied in
/// two steps, each a normal power of two).
pub(crate) fn times_pow2(x: f64, k: i32) -> f64 {
    let pow2 = |k: i32| f64::from_bits(((k + 1023) as u64) << 52);
    let k = k.clamp(-2044, 2046);
    let first = k / 2;
    x * pow2(first) * pow2(k - first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_of_two() {
        for x in [1.0, 1.5, 3.0, 1e-300, f64::MIN_POSITIVE, 5e-324, 1e-310, 1e300, f64::MAX] {
            let e = binary_exponent(x);
            let m = times_pow2(x, -e);
            assert!((1.0..2.0).contains(&m), "{x:e}: exponent {e}, mantissa {m}");
            assert_eq!(times_pow2(m, e), x, "{x:e}");
        }
        assert_eq!(times_pow2(3.0, 2000), f64::INFINITY);
        assert_eq!(times_pow2(3.0, -2000), 0.0);
    }
}
