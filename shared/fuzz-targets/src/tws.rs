//! The TWS wire, both directions (`ae_tws::wire`): the framing, the handshake, every
//! client request the paper gateway decodes (`Request::decode` and each request's `from_body`, as
//! the gateway calls them) and every server message a client decodes (`from_body` of each
//! `ServerMessage`).
//!
//! Invariants: a frame read re-encodes to exactly the bytes it was read from; an accepted version
//! range formats and re-parses to itself and negotiates a version both sides speak; a decoded
//! message re-encodes, decodes again, and re-encodes to the same bytes (protobuf's canonical form;
//! bytes, not values, so a NaN price compares equal to itself); `Request::decode` and the typed
//! `from_body` agree.

use ae_tws::wire::{self, ClientHello, ClientRequest, Request, ServerMessage};
use futures::executor::block_on;

/// A stream of frames as the gateway reads a connection: `read_frame` until the stream ends or
/// fails, each body split and decoded as a request.
pub fn tws_framing(data: &[u8]) {
    let mut rest = data;
    loop {
        let before = rest;
        let body = match block_on(wire::read_frame(&mut rest)) {
            Ok(Some(body)) => body,
            Ok(None) => {
                assert!(before.is_empty(), "a clean end with {} bytes left", before.len());
                return;
            }
            Err(_) => return,
        };
        let consumed = before.len() - rest.len();
        let frame = wire::encode_frame(&body).expect("a frame read is within the limit");
        assert_eq!(frame, before[..consumed], "a frame does not re-encode to the bytes it was read from");
        if wire::split_message(&body).is_ok() {
            tws_request(&body);
        }
    }
}

/// The client's opening (`API\0` and a framed version range) and the gateway's reply.
pub fn tws_handshake(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        hello(text);
    }
    let mut rest = data;
    let Ok(h) = block_on(wire::read_client_hello(&mut rest)) else {
        return;
    };
    assert!(h.min_version <= h.max_version);
    if let Ok(version) = h.negotiate() {
        assert!((wire::MIN_SERVER_VERSION..=wire::SERVER_VERSION).contains(&version));
        assert!((h.min_version..=h.max_version).contains(&version));
        let reply = wire::handshake_reply(version, "20100315 13:30:00 UTC");
        assert!(reply.starts_with(version.to_string().as_bytes()));
    }
}

fn hello(text: &str) {
    let Ok(h) = ClientHello::parse(text) else {
        return;
    };
    assert!(h.min_version <= h.max_version);
    let mut again = format!("v{}..{}", h.min_version, h.max_version);
    if !h.options.is_empty() {
        again.push(' ');
        again.push_str(&h.options);
    }
    assert_eq!(ClientHello::parse(&again).ok(), Some(h), "a version range does not re-parse to itself");
}

/// Re-encodes, decodes and re-encodes `m` through `from_body`; asserts the bytes are stable.
fn stable<M: prost::Message + Default>(
    to_body: fn(&M) -> Vec<u8>,
    from_body: fn(&[u8]) -> Result<M, wire::WireError>,
    m: &M,
) -> Vec<u8> {
    let body = to_body(m);
    let again = from_body(&body).expect("a re-encoded message decodes");
    assert_eq!(to_body(&again), body, "a message re-encodes differently after a decode");
    body
}

/// Decodes `body` with the typed `from_body` of `R`; it must agree, byte for byte, with what
/// `Request::decode` produced (`encoded`).
fn typed_request<R: ClientRequest>(body: &[u8], encoded: &[u8]) {
    let r = R::from_body(body).expect("Request::decode accepted it, so must from_body");
    stable(R::to_body, R::from_body, &r);
    assert_eq!(r.to_body(), encoded, "from_body and Request::decode disagree");
}

/// The frame body of a decoded request (the unit requests carry nothing the gateway keeps).
fn request_body(r: &Request) -> Vec<u8> {
    match r {
        Request::StartApi(m) => m.to_body(),
        Request::ReqIds(m) => m.to_body(),
        Request::ReqManagedAccts => wire::ReqManagedAccts {}.to_body(),
        Request::ReqCurrentTime => wire::ReqCurrentTime {}.to_body(),
        Request::ReqCurrentTimeInMillis => wire::ReqCurrentTimeInMillis {}.to_body(),
        Request::ReqMarketDataType(m) => m.to_body(),
        Request::ReqMktData(m) => m.to_body(),
        Request::CancelMktData(m) => m.to_body(),
        Request::PlaceOrder(m) => m.to_body(),
        Request::CancelOrder(m) => m.to_body(),
        Request::ReqGlobalCancel(m) => m.to_body(),
        Request::ReqOpenOrders => wire::ReqOpenOrders {}.to_body(),
        Request::ReqAllOpenOrders => wire::ReqAllOpenOrders {}.to_body(),
        Request::ReqAutoOpenOrders(m) => m.to_body(),
        Request::ReqCompletedOrders(m) => m.to_body(),
        Request::ReqExecutions(m) => m.to_body(),
        Request::ReqPositions => wire::ReqPositions {}.to_body(),
        Request::CancelPositions => wire::CancelPositions {}.to_body(),
        Request::ReqAccountSummary(m) => m.to_body(),
        Request::CancelAccountSummary(m) => m.to_body(),
        Request::Unsupported { id, payload } => wire::protobuf_body(*id, payload),
    }
}

/// One client request frame body, as the gateway decodes it.
pub fn tws_request(data: &[u8]) {
    let Ok(req) = Request::decode(data) else {
        return;
    };
    let (id, payload) = wire::split_protobuf(data).expect("Request::decode accepted it");
    assert_eq!(req.id(), id, "a request reports another id than it was sent with");
    let body = request_body(&req);
    let again = Request::decode(&body).expect("a re-encoded request decodes");
    assert_eq!(request_body(&again), body, "a request re-encodes differently after a decode");
    use wire::in_id as i;
    match id {
        i::START_API => typed_request::<wire::StartApi>(data, &body),
        i::REQ_MKT_DATA => typed_request::<wire::ReqMktData>(data, &body),
        i::CANCEL_MKT_DATA => typed_request::<wire::CancelMktData>(data, &body),
        i::PLACE_ORDER => typed_request::<wire::PlaceOrder>(data, &body),
        i::CANCEL_ORDER => typed_request::<wire::CancelOrder>(data, &body),
        i::REQ_EXECUTIONS => typed_request::<wire::ReqExecutions>(data, &body),
        i::REQ_ACCOUNT_SUMMARY => typed_request::<wire::ReqAccountSummary>(data, &body),
        _ => {
            if let Request::Unsupported { payload: kept, .. } = &req {
                assert_eq!(kept.as_slice(), payload, "an unsupported request's payload is kept as sent");
                assert_eq!(body, data, "an unsupported request re-encodes to the bytes received");
            }
        }
    }
}

/// Decodes `data` as `M`: only a body with `M`'s id may decode, and a decoded one is stable.
fn server<M: ServerMessage>(data: &[u8]) {
    let decoded = M::from_body(data);
    let id = wire::split_protobuf(data).ok().map(|(id, _)| id);
    match decoded {
        Ok(m) => {
            assert_eq!(id, Some(M::ID), "decoded a message of another id");
            stable(M::to_body, M::from_body, &m);
        }
        Err(wire::WireError::UnexpectedMessage { expected, actual }) => {
            assert_eq!((expected, Some(actual)), (M::ID, id));
        }
        Err(_) => {}
    }
}

/// One server message frame body, decoded as every message type a client reads.
pub fn tws_server_message(data: &[u8]) {
    server::<wire::NextValidId>(data);
    server::<wire::ManagedAccounts>(data);
    server::<wire::CurrentTime>(data);
    server::<wire::CurrentTimeInMillis>(data);
    server::<wire::MarketDataType>(data);
    server::<wire::TickPrice>(data);
    server::<wire::TickSize>(data);
    server::<wire::TickReqParams>(data);
    server::<wire::TickSnapshotEnd>(data);
    server::<wire::OpenOrder>(data);
    server::<wire::OpenOrderEnd>(data);
    server::<wire::OrderStatus>(data);
    server::<wire::ExecutionData>(data);
    server::<wire::ExecutionDataEnd>(data);
    server::<wire::CommissionReport>(data);
    server::<wire::Position>(data);
    server::<wire::PositionEnd>(data);
    server::<wire::AccountSummary>(data);
    server::<wire::AccountSummaryEnd>(data);
    server::<wire::ErrorMessage>(data);
    server::<wire::CompletedOrder>(data);
    server::<wire::CompletedOrdersEnd>(data);
}
