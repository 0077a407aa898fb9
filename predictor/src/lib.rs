//! # ae-predictor — the predictor job
//!
//! Owns: the feature panel ([`features`]) with its macro columns ([`macro_features`]), labels ([`labels`]), training with walk-forward
//! validation and calibration ([`model`]; the final fit's LightGBM calls [`lgbm`] makes itself), the walk-forward fits kept between trainings
//! ([`fits`]), the model registry ([`registry`]), what both jobs read
//! from the bus besides prices — the parameters in force, the research history and the macro
//! series ([`context`]) —,
//! the weekly training job ([`train`]) and daily inference with the veto ([`infer`]).
//!
//! Must never: let a feature at session t read a bar after t (or a macro observation dated on or
//! after t), evaluate a model on data it trained
//! on, promote a model that fails the gate, or place or plan an order (the executor's job).

#![deny(missing_docs)]

pub mod context;
pub mod features;
pub mod fits;
pub mod infer;
pub mod labels;
pub mod lgbm;
pub mod macro_features;
pub mod model;
pub mod registry;
pub mod train;
