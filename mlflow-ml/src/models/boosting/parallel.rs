//! Deterministic work splitting over scoped threads: contiguous ranges of items, results in order.

use std::ops::Range;

/// Threads to use for a requested count: `0` means all available cores.
pub(super) fn resolve_threads(requested: usize) -> usize {
    match requested {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        t => t,
    }
}

/// Runs `job` over `0..items` split into at most `threads` contiguous ranges and returns the
/// results in range order. The first range runs on this thread; a range whose thread cannot be
/// started (resource limits) also runs here, so the results never depend on the thread count.
pub(super) fn map_ranges<R, F>(items: usize, threads: usize, job: F) -> Vec<R>
where
    R: Send,
    F: Fn(Range<usize>) -> R + Sync,
{
    let threads = threads.clamp(1, items.max(1));
    if threads == 1 {
        return vec![job(0..items)];
    }
    let per = items.div_ceil(threads);
    let ranges: Vec<_> =
        (0..threads).map(|t| t * per..((t + 1) * per).min(items)).filter(|r| !r.is_empty()).collect();
    let job = &job;
    std::thread::scope(|scope| {
        let spawned: Vec<_> = ranges
            .iter()
            .skip(1)
            .map(|r| {
                let range = r.clone();
                std::thread::Builder::new()
                    .name("mlflow-boosting".into())
                    .spawn_scoped(scope, move || job(range))
                    .map_err(|_| r.clone())
            })
            .collect();
        let mut out = Vec::with_capacity(ranges.len());
        out.push(job(ranges[0].clone()));
        for handle in spawned {
            out.push(match handle {
                Ok(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
                Err(r) => job(r),
            });
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_in_order() {
        for threads in [1, 2, 3, 8] {
            let parts = map_ranges(10, threads, |r| r.collect::<Vec<_>>());
            assert_eq!(parts.concat(), (0..10).collect::<Vec<_>>());
        }
        assert_eq!(map_ranges(0, 4, |r| r.len()), [0]);
    }
}
