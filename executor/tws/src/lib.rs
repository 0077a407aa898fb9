//! # ae-tws — the local TWS-protocol paper gateway
//!
//! Owns: a server that speaks the Interactive Brokers TWS API wire protocol, so the real `ibapi`
//! client can connect to it over loopback. [`wire`] holds the framing, the handshake, the message
//! ids and the protobuf requests and messages (with the protocol spec in its module doc), [`book`]
//! the paper account and its fill model (costs by `ae_rules::costs`), [`gateway`] the server, its
//! lockstep replay clock and the faults it injects on command.
//!
//! Must never: listen anywhere but where its caller says (loopback in every use), reach a real
//! broker or the network, read the wall clock for the replayed day (the day's moments are its
//! clock), decide a trade (orders come from the client; costs and dividends are `ae-rules`
//! functions), or read the price store, the config or the bus (the executor builds its
//! [`gateway::GatewayConfig`]).

#![deny(missing_docs)]

pub mod book;
pub mod gateway;
pub mod wire;
