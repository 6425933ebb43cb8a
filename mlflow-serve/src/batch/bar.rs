//! A terminal progress bar for batch scoring.

use std::fmt;
use std::io;

use super::BatchProgress;

/// A progress bar for [`BatchOptions::on_progress`](crate::BatchOptions::on_progress) on standard error: bytes read of the input's
/// size, rows scored, elapsed time and ETA. Hidden (draws nothing) when standard error is not a
/// terminal. Needs the `progress` feature.
///
/// ```
/// use mlflow_serve::{BatchBar, BatchOptions, BatchProgress};
/// let bar = BatchBar::stderr();
/// let b = bar.clone();
/// let _options = BatchOptions::new().on_progress(move |p| b.update(p));
/// bar.update(&BatchProgress { bytes_read: 10, total_bytes: Some(100), rows: 2 });
/// bar.finish();
/// ```
#[derive(Clone)]
pub struct BatchBar {
    bar: indicatif::ProgressBar,
}

impl fmt::Debug for BatchBar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchBar").field("hidden", &self.bar.is_hidden()).finish()
    }
}

impl BatchBar {
    /// A bar on standard error, or a hidden one when it is not a terminal.
    ///
    /// See [`BatchBar`] for an example.
    pub fn stderr() -> BatchBar {
        use std::io::IsTerminal;
        if !io::stderr().is_terminal() {
            return BatchBar { bar: indicatif::ProgressBar::hidden() };
        }
        let style = indicatif::ProgressStyle::with_template(
            "{spinner} scoring [{bar:30}] {bytes}/{total_bytes} {elapsed} (eta {eta}) {wide_msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
        let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr())
            .with_style(style);
        BatchBar { bar }
    }

    /// Shows a progress report.
    ///
    /// See [`BatchBar`] for an example.
    pub fn update(&self, progress: &BatchProgress) {
        if let Some(total) = progress.total_bytes
            && self.bar.length() != Some(total)
        {
            self.bar.set_length(total);
        }
        self.bar.set_position(progress.bytes_read);
        self.bar.set_message(format!("{} rows", progress.rows));
    }

    /// Clears the bar (call it before printing a summary).
    ///
    /// See [`BatchBar`] for an example.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
