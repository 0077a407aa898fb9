//! One module per page; each renders from a [`super::snapshot::Snapshot`] and nothing else
//! (Lineage also walks the bus for the document asked for).

pub mod backtester;
pub mod execution;
pub mod lineage;
pub mod overview;
pub mod positions;
pub mod predictor;
pub mod research;
pub mod risk;
