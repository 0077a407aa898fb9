//! The one sell guard: never sell more than held minus working sells, so no retry, duplicate or
//! race can ever open a short — and "held" and "working" are read from BOTH books, the ledger's and
//! the broker's, taking the cautious side of each ([`Books`]).

/// Shares that may still be sold.
pub fn sellable(held: u32, working_sells: u32) -> u32 {
    held.saturating_sub(working_sells)
}

/// A requested sell clamped to what may be sold.
pub fn clamp_sell(requested: u32, held: u32, working_sells: u32) -> u32 {
    requested.min(sellable(held, working_sells))
}

/// One name as the ledger and the broker each see it. When they disagree, a sell is sized on the
/// smaller position and the larger working sells: `sellable = min(broker, ledger) − max(ledger
/// working sells, broker open sells)`. A short at the broker holds nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Books {
    /// Shares the broker reports (a short counts as zero; it is reported as a break elsewhere).
    pub broker_shares: u32,
    /// Shares the ledger holds.
    pub ledger_shares: u32,
    /// Shares in the ledger's working sells.
    pub ledger_working_sells: u32,
    /// Shares in the broker's open sell orders (ours and any other client's).
    pub broker_open_sells: u32,
}

impl Books {
    /// Both books agree on `shares` held and `working` sells.
    pub fn agreed(shares: u32, working: u32) -> Self {
        Self { broker_shares: shares, ledger_shares: shares, ledger_working_sells: working, broker_open_sells: working }
    }

    /// The position a sell may count on.
    pub fn held(&self) -> u32 {
        self.broker_shares.min(self.ledger_shares)
    }

    /// The working sells a sell must leave room for.
    pub fn working_sells(&self) -> u32 {
        self.ledger_working_sells.max(self.broker_open_sells)
    }

    /// Shares that may still be sold.
    pub fn sellable(&self) -> u32 {
        sellable(self.held(), self.working_sells())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sellable_takes_the_cautious_side_of_each_book() {
        struct Case {
            books: Books,
            sellable: u32,
        }
        let b = |broker_shares, ledger_shares, ledger_working_sells, broker_open_sells| Books {
            broker_shares,
            ledger_shares,
            ledger_working_sells,
            broker_open_sells,
        };
        let cases = [
            // TC1: books agree, nothing working.
            Case { books: b(100, 100, 0, 0), sellable: 100 },
            // TC2: the broker holds less than the ledger thinks (an unbooked sell elsewhere).
            Case { books: b(60, 100, 0, 0), sellable: 60 },
            // TC3: the ledger holds less than the broker (an external buy): only ours are sold.
            Case { books: b(150, 100, 0, 0), sellable: 100 },
            // TC4: the broker works a sell the ledger does not know (another client's).
            Case { books: b(100, 100, 10, 70), sellable: 30 },
            // TC5: the ledger works more than the broker shows (a sell not arrived yet).
            Case { books: b(100, 100, 80, 0), sellable: 20 },
            // TC6: working sells beyond the position: nothing, never negative.
            Case { books: b(100, 100, 150, 0), sellable: 0 },
            // TC7: the broker shows nothing (a short is reported as zero): nothing to sell.
            Case { books: b(0, 100, 0, 0), sellable: 0 },
        ];
        for (i, c) in cases.iter().enumerate() {
            assert_eq!(c.books.sellable(), c.sellable, "TC{}: {:?}", i + 1, c.books);
        }
        assert_eq!(Books::agreed(100, 40).sellable(), 60);
    }
}
