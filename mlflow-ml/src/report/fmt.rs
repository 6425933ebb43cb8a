//! Text and number formatting for the report: escaping, SVG coordinates, durations, dates.

/// Escapes text for HTML text and attribute values (the same rules serve both). Control
/// characters other than tab and newline become U+FFFD.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            '\r' => {}
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters of `s`, with `…` when something was cut.
pub(super) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A number for an SVG attribute: always finite (non-finite becomes 0), clamped to a sane range,
/// at most two decimals.
pub(super) fn num(x: f64) -> String {
    if !x.is_finite() {
        return "0".into();
    }
    trimmed(x.clamp(-1e7, 1e7), 2)
}

/// `x` with `decimals` decimals, trailing zeros (and a trailing dot) removed; never `-0`.
pub(super) fn trimmed(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { s.as_str() };
    if s == "-0" || s.is_empty() { "0".into() } else { s.into() }
}

/// A metric value for people: 4 decimals, integers as integers, very large or small values in
/// scientific notation; NaN and infinities spelled out.
pub(super) fn value(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "∞".into() } else { "−∞".into() };
    }
    let a = x.abs();
    if a != 0.0 && !(1e-3..1e9).contains(&a) {
        format!("{x:.3e}")
    } else if x == x.trunc() {
        trimmed(x, 0)
    } else {
        trimmed(x, 4)
    }
}

/// A duration for people: `850 µs`, `12.3 ms`, `4.56 s`, `3m 07s`, `2h 05m`.
pub(super) fn duration(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        return "–".into();
    }
    if ms == 0.0 {
        "0 ms".into()
    } else if ms < 1.0 {
        format!("{:.0} µs", ms * 1000.0)
    } else if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else if ms < 60_000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms < 3_600_000.0 {
        let s = (ms / 1000.0).round() as u64;
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        let m = (ms / 60_000.0).round() as u64;
        format!("{}h {:02}m", m / 60, m % 60)
    }
}

/// A tick label on a time axis whose full range is `total` ms: one unit for the whole axis.
pub(super) fn tick(t: f64, total: f64) -> String {
    let (div, unit) = if total < 1.0 {
        (0.001, "µs")
    } else if total < 2_000.0 {
        (1.0, "ms")
    } else if total < 120_000.0 {
        (1_000.0, "s")
    } else if total < 7_200_000.0 {
        (60_000.0, "min")
    } else {
        (3_600_000.0, "h")
    };
    if t == 0.0 {
        return "0".into();
    }
    format!("{} {unit}", trimmed(t / div, 3))
}

/// A "nice" step (1, 2 or 5 times a power of ten) of at least `raw` (> 0, finite).
pub(super) fn nice_step(raw: f64) -> f64 {
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    let m = raw / p;
    let nice = if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * p
}

/// `YYYY-MM-DD HH:MM:SS UTC` for milliseconds since the Unix epoch.
pub(super) fn timestamp(ms: i64) -> String {
    mlflow_core::track::format_timestamp(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(esc(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(esc("a\u{0}b\r\n"), "a\u{fffd}b\n");
    }

    #[test]
    fn numbers_are_finite_and_short() {
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(num(f64::INFINITY), "0");
        assert_eq!(num(1e300), "10000000");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(100.0), "100");
        assert_eq!(value(0.86159), "0.8616");
        assert_eq!(value(42.0), "42");
        assert_eq!(value(1e-7), "1.000e-7");
        assert_eq!(value(f64::NAN), "NaN");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("ab", 4), "ab");
    }

    #[test]
    fn durations_ticks_and_dates() {
        assert_eq!(duration(0.85), "850 µs");
        assert_eq!(duration(12.34), "12.3 ms");
        assert_eq!(duration(4560.0), "4.56 s");
        assert_eq!(duration(187_000.0), "3m 07s");
        assert_eq!(duration(f64::NAN), "–");
        assert_eq!(duration(1e300), format!("{}h {:02}m", u64::MAX / 60, u64::MAX % 60));
        assert_eq!(tick(20.0, 120.0), "20 ms");
        assert_eq!(tick(2500.0, 9000.0), "2.5 s");
        assert_eq!(nice_step(13.0), 20.0);
        assert_eq!(nice_step(0.3), 0.5);
        assert_eq!(nice_step(f64::NAN), 1.0);
        assert_eq!(timestamp(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(timestamp(1_714_567_890_123), "2024-05-01 12:51:30 UTC");
        assert_eq!(timestamp(-1), "1969-12-31 23:59:59 UTC");
        let _ = timestamp(i64::MIN);
        let _ = timestamp(i64::MAX);
    }
}
