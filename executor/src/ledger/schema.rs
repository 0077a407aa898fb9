//! The ledger's schema, as versioned migrations (`PRAGMA user_version` counts the ones applied).

/// Migrations in order; each runs once, in its own transaction.
pub(super) const MIGRATIONS: &[&str] = &[
    // v1
    "CREATE TABLE account (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        inception TEXT NOT NULL,
        starting_cash REAL NOT NULL,
        cash REAL NOT NULL
    );
    CREATE TABLE orders (
        id TEXT PRIMARY KEY,
        date TEXT NOT NULL,
        ticker TEXT NOT NULL,
        side TEXT NOT NULL,
        intent TEXT NOT NULL,
        shares INTEGER NOT NULL CHECK (shares > 0),
        order_type TEXT NOT NULL,
        limit_price REAL,
        reference_price REAL,
        reasons TEXT NOT NULL,
        state TEXT NOT NULL,
        broker_order_id TEXT,
        filled_shares INTEGER NOT NULL DEFAULT 0,
        avg_fill_price REAL,
        detail TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX orders_by_date ON orders(date);
    CREATE TABLE fills (
        exec_id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL REFERENCES orders(id),
        date TEXT NOT NULL,
        ticker TEXT NOT NULL,
        side TEXT NOT NULL,
        shares INTEGER NOT NULL CHECK (shares > 0),
        price REAL NOT NULL CHECK (price > 0),
        commission REAL NOT NULL,
        realized_pnl REAL,
        at TEXT NOT NULL
    );
    CREATE INDEX fills_by_date ON fills(date);
    CREATE TABLE positions (
        ticker TEXT PRIMARY KEY,
        sector TEXT,
        shares INTEGER NOT NULL CHECK (shares >= 0),
        avg_cost REAL NOT NULL,
        entry_date TEXT NOT NULL,
        high_water REAL NOT NULL,
        profit_taken INTEGER NOT NULL DEFAULT 0,
        decay_reduced INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE splits_applied (ticker TEXT NOT NULL, date TEXT NOT NULL, ratio REAL NOT NULL, PRIMARY KEY (ticker, date));
    CREATE TABLE eod_pnl (
        date TEXT PRIMARY KEY,
        nav REAL NOT NULL,
        cash REAL NOT NULL,
        daily_return REAL NOT NULL,
        benchmark_close REAL NOT NULL,
        benchmark_return REAL NOT NULL,
        alpha REAL NOT NULL,
        realized_pnl REAL NOT NULL,
        unrealized_pnl REAL NOT NULL,
        commission REAL NOT NULL,
        traded_notional REAL NOT NULL,
        positions TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE risk_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        date TEXT NOT NULL,
        source TEXT NOT NULL,
        rule TEXT NOT NULL,
        ticker TEXT,
        detail TEXT NOT NULL,
        UNIQUE (date, source, rule, ticker)
    );
    CREATE TABLE shadow_book (
        date TEXT NOT NULL,
        ticker TEXT NOT NULL,
        rule TEXT NOT NULL,
        reason TEXT NOT NULL,
        intended_shares INTEGER NOT NULL,
        intended_usd REAL NOT NULL,
        reference_price REAL NOT NULL,
        PRIMARY KEY (date, ticker)
    );
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        cycle_id TEXT NOT NULL,
        ticker TEXT NOT NULL,
        at TEXT NOT NULL,
        decision TEXT NOT NULL,
        shares INTEGER NOT NULL,
        stop REAL,
        reasons TEXT NOT NULL,
        mu_hat REAL,
        sigma_hat REAL,
        conviction TEXT,
        score REAL,
        quality REAL NOT NULL,
        confidence REAL,
        risk_checks TEXT NOT NULL,
        sizing TEXT,
        metadata TEXT NOT NULL
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit is append-only'); END;",
    // v2: every broker id ever reserved (unique per day; the id floor after a reconnect), the
    // attempts of an order the broker answered with an unknown error, and the positions adopted
    // from the broker when it moved one the ledger did not cause.
    "ALTER TABLE orders ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    CREATE UNIQUE INDEX orders_broker_id_per_day ON orders(date, broker_order_id) WHERE broker_order_id IS NOT NULL;
    CREATE TABLE broker_ids (
        date TEXT NOT NULL,
        broker_order_id TEXT NOT NULL,
        order_id TEXT NOT NULL REFERENCES orders(id),
        at TEXT NOT NULL,
        PRIMARY KEY (date, broker_order_id)
    );
    INSERT INTO broker_ids (date, broker_order_id, order_id, at)
        SELECT date, broker_order_id, id, updated_at FROM orders WHERE broker_order_id IS NOT NULL;
    CREATE TABLE position_adjustments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        date TEXT NOT NULL,
        ticker TEXT NOT NULL,
        ledger_shares INTEGER NOT NULL,
        broker_shares INTEGER NOT NULL,
        broker_avg_cost REAL NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL
    );",
    // v3: cash dividends, accrued on the shares held at an ex-date's open and paid into cash on
    // the pay date (ae_rules::dividends).
    "CREATE TABLE dividends (
        ticker TEXT NOT NULL,
        ex_date TEXT NOT NULL,
        pay_date TEXT NOT NULL,
        shares INTEGER NOT NULL CHECK (shares > 0),
        amount REAL NOT NULL CHECK (amount >= 0),
        paid_on TEXT,
        PRIMARY KEY (ticker, ex_date)
    );",
];
