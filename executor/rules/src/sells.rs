//! The one sell guard: never sell more than held minus working sells, so no retry, duplicate or
//! race can ever open a short.

/// Shares that may still be sold.
pub fn sellable(held: u32, working_sells: u32) -> u32 {
    held.saturating_sub(working_sells)
}

/// A requested sell clamped to what may be sold.
pub fn clamp_sell(requested: u32, held: u32, working_sells: u32) -> u32 {
    requested.min(sellable(held, working_sells))
}
