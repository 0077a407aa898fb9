//! The local paper gateway: it speaks the Interactive Brokers TWS API wire protocol as a server, so
//! the real `ibapi` client can connect to it over loopback. [`wire`] holds the framing, the
//! handshake and the protobuf messages (with a protocol spec in its module doc), [`book`] the
//! paper account and its fill model, [`gateway`] the server and its replay clock.

pub mod book;
pub mod gateway;
pub mod wire;
