//! The one train/holdout split of every backtester decision (the most recent share held out).
//! The decision itself is an [`ae_shared::contracts::gate::Gates`].

/// How many of `n` ordered items are training (the rest, the most recent, are the holdout).
pub fn train_len(n: usize, holdout_fraction: f64) -> usize {
    (((n as f64) * (1.0 - holdout_fraction)).round() as usize).min(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_recent_share_is_held_out() {
        assert_eq!((train_len(231, 0.33), train_len(3, 0.5), train_len(0, 0.33)), (155, 2, 0));
    }
}
