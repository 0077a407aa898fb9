//! The wire's round trips and decoding, against what `ibapi` 5.5 sends and expects.

use std::io;

use super::*;

fn stock(symbol: &str) -> Contract {
    Contract {
        symbol: Some(symbol.to_owned()),
        sec_type: Some("STK".to_owned()),
        exchange: Some("SMART".to_owned()),
        currency: Some("USD".to_owned()),
        ..Contract::default()
    }
}

#[tokio::test]
async fn frames_round_trip_and_clean_eof_is_none() {
    let (mut client, mut server) = tokio::io::duplex(1024);
    write_frame(&mut client, b"hello").await.unwrap();
    write_frame(&mut client, b"").await.unwrap();
    drop(client);
    assert_eq!(read_frame(&mut server).await.unwrap(), Some(b"hello".to_vec()));
    assert_eq!(read_frame(&mut server).await.unwrap(), Some(Vec::new()));
    assert_eq!(read_frame(&mut server).await.unwrap(), None);
}

#[test]
fn frame_is_big_endian_length_then_body() {
    assert_eq!(encode_frame(b"abc").unwrap(), vec![0, 0, 0, 3, b'a', b'b', b'c']);
}

#[tokio::test]
async fn eof_inside_a_frame_is_an_error() {
    let (mut client, mut server) = tokio::io::duplex(64);
    tokio::io::AsyncWriteExt::write_all(&mut client, &[0, 0, 0, 9, 1, 2]).await.unwrap();
    drop(client);
    assert!(matches!(read_frame(&mut server).await, Err(WireError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof));

    let (mut client, mut server) = tokio::io::duplex(64);
    tokio::io::AsyncWriteExt::write_all(&mut client, &[0, 0]).await.unwrap();
    drop(client);
    assert!(matches!(read_frame(&mut server).await, Err(WireError::Io(_))));
}

#[tokio::test]
async fn oversized_frame_is_refused() {
    let (mut client, mut server) = tokio::io::duplex(64);
    tokio::io::AsyncWriteExt::write_all(&mut client, &[0x01, 0, 0, 0]).await.unwrap();
    assert!(matches!(read_frame(&mut server).await, Err(WireError::FrameTooLong(0x0100_0000))));
}

#[tokio::test]
async fn handshake_as_ibapi_sends_it() {
    let (mut client, mut server) = tokio::io::duplex(1024);
    // ibapi: raw "API\0", then the length-prefixed version range.
    let mut opening = API_PREFIX.to_vec();
    opening.extend(encode_frame(b"v213..226").unwrap());
    tokio::io::AsyncWriteExt::write_all(&mut client, &opening).await.unwrap();

    let hello = read_client_hello(&mut server).await.unwrap();
    assert_eq!(hello, ClientHello { min_version: 213, max_version: 226, options: String::new() });
    assert_eq!(hello.negotiate().unwrap(), 226);

    write_handshake_reply(&mut server, 226, "20250102 14:30:00 UTC").await.unwrap();
    let reply = read_frame(&mut client).await.unwrap().unwrap();
    assert_eq!(reply, b"226\x0020250102 14:30:00 UTC\x00".to_vec());
    let fields: Vec<&str> = std::str::from_utf8(&reply).unwrap().split_terminator('\0').collect();
    assert_eq!(fields, ["226", "20250102 14:30:00 UTC"]);
}

#[tokio::test]
async fn handshake_rejects_a_bad_prefix() {
    let (mut client, mut server) = tokio::io::duplex(64);
    tokio::io::AsyncWriteExt::write_all(&mut client, b"GET / HTTP/1.1").await.unwrap();
    assert!(matches!(read_client_hello(&mut server).await, Err(WireError::BadPrefix(p)) if &p == b"GET "));
}

#[test]
fn version_negotiation() {
    let hello = |text: &str| ClientHello::parse(text).unwrap();
    assert_eq!(hello("v213..230").negotiate().unwrap(), 226);
    assert_eq!(hello("v213..220").negotiate().unwrap(), 220);
    assert_eq!(hello("v100..187 +PACEAPI").options, "+PACEAPI");
    assert!(matches!(hello("v100..187").negotiate(), Err(WireError::UnsupportedVersion { min: 100, max: 187 })));
    assert!(matches!(hello("v227..230").negotiate(), Err(WireError::UnsupportedVersion { .. })));
    assert_eq!(hello("v213").negotiate().unwrap(), 213);
    for bad in ["213..226", "vx..226", "v226..213", ""] {
        assert!(matches!(ClientHello::parse(bad), Err(WireError::BadVersionRange(_))), "{bad:?}");
    }
}

#[test]
fn connection_time_format() {
    use chrono::TimeZone as _;
    let time = chrono::Utc.with_ymd_and_hms(2025, 1, 2, 14, 30, 5).unwrap();
    assert_eq!(format_connection_time(time), "20250102 14:30:05 UTC");
}

#[test]
fn protobuf_bodies_carry_the_offset_id() {
    // NextValidId(order_id 1): id 9 + 200 = 209, then field 1 varint 1.
    let body = NextValidId { order_id: Some(1) }.to_body();
    assert_eq!(body, vec![0, 0, 0, 209, 0x08, 0x01]);
    // ManagedAccounts("DU1"): id 15 + 200 = 215, then field 1 length-delimited.
    let body = ManagedAccounts { accounts: Some("DU1".to_owned()) }.to_body();
    assert_eq!(body, vec![0, 0, 0, 215, 0x0a, 3, b'D', b'U', b'1']);
    // An empty message is the id alone.
    assert_eq!(OpenOrderEnd {}.to_body(), vec![0, 0, 0, 253]);
    assert_eq!(split_protobuf(&OpenOrderEnd {}.to_body()).unwrap(), (out_id::OPEN_ORDER_END, &[][..]));
}

#[test]
fn text_and_short_frames_are_refused() {
    assert!(matches!(split_protobuf(&[0, 0, 0, 9, b'1', 0]), Err(WireError::NotProtobuf(9))));
    assert!(matches!(split_protobuf(&[0, 1]), Err(WireError::ShortFrame(2))));
    assert!(matches!(split_message(&[0, 0, 0, 200]), Ok((200, []))));
}

#[test]
fn start_api_decodes_as_ibapi_encodes_it() {
    // ibapi: id 71 + 200 = 271 (0x010f), field 1 = client id 7.
    let body = [0, 0, 0x01, 0x0f, 0x08, 0x07];
    assert_eq!(Request::decode(&body).unwrap(), Request::StartApi(StartApi { client_id: Some(7), capabilities: None }));
}

#[test]
fn place_order_round_trips_through_request_decode() {
    let request = PlaceOrder {
        order_id: Some(12),
        contract: Some(stock("AAPL")),
        order: Some(Order {
            action: Some(side::BUY.to_owned()),
            total_quantity: Some("100".to_owned()),
            order_type: Some("LMT".to_owned()),
            limit_price: Some(187.25),
            tif: Some("DAY".to_owned()),
            order_ref: Some("plan-1".to_owned()),
            transmit: Some(true),
            parent_id: Some(11),
            account: Some("DU1".to_owned()),
            outside_rth: Some(true),
            trailing_percent: Some(1.5),
            trail_stop_price: Some(180.0),
            ..Order::default()
        }),
    };
    let decoded = Request::decode(&request.to_body()).unwrap();
    assert_eq!(decoded.id(), in_id::PLACE_ORDER);
    assert_eq!(decoded, Request::PlaceOrder(Box::new(request.clone())));
    assert_eq!(PlaceOrder::from_body(&request.to_body()).unwrap(), request);
}

#[test]
fn requests_decode_by_id() {
    let executions = ReqExecutions {
        req_id: Some(FIRST_REQUEST_ID),
        filter: Some(ExecutionFilter {
            client_id: Some(7),
            account: Some("DU1".to_owned()),
            time: Some("20250102 00:00:00".to_owned()),
            symbol: Some("AAPL".to_owned()),
            side: Some(side::BUY.to_owned()),
            specific_dates: vec![20250102, 20250103],
            ..ExecutionFilter::default()
        }),
    };
    assert_eq!(Request::decode(&executions.to_body()).unwrap(), Request::ReqExecutions(Box::new(executions)));

    let summary = ReqAccountSummary {
        req_id: Some(FIRST_REQUEST_ID + 1),
        group: Some("All".to_owned()),
        tags: Some("NetLiquidation,TotalCashValue".to_owned()),
    };
    assert_eq!(Request::decode(&summary.to_body()).unwrap(), Request::ReqAccountSummary(summary));

    let market = ReqMktData {
        req_id: Some(FIRST_REQUEST_ID + 2),
        contract: Some(stock("MSFT")),
        generic_ticks: Some("233".to_owned()),
        snapshot: Some(true),
        regulatory_snapshot: None,
    };
    assert_eq!(Request::decode(&market.to_body()).unwrap(), Request::ReqMktData(Box::new(market)));

    let cancel = CancelOrder { order_id: Some(12), cancel: Some(OrderCancel::default()) };
    assert_eq!(Request::decode(&cancel.to_body()).unwrap(), Request::CancelOrder(cancel));

    assert_eq!(Request::decode(&ReqPositions {}.to_body()).unwrap(), Request::ReqPositions);
    assert_eq!(Request::decode(&CancelPositions {}.to_body()).unwrap(), Request::CancelPositions);
    assert_eq!(Request::decode(&ReqAllOpenOrders {}.to_body()).unwrap(), Request::ReqAllOpenOrders);
    assert_eq!(Request::decode(&ReqCurrentTime {}.to_body()).unwrap(), Request::ReqCurrentTime);
    assert_eq!(
        Request::decode(&ReqMarketDataType { market_data_type: Some(market_data_type::DELAYED) }.to_body()).unwrap(),
        Request::ReqMarketDataType(ReqMarketDataType { market_data_type: Some(3) })
    );
    assert_eq!(
        Request::decode(&protobuf_body(in_id::REQ_ACCOUNT_DATA, &[0x08, 0x01])).unwrap(),
        Request::Unsupported { id: in_id::REQ_ACCOUNT_DATA, payload: vec![0x08, 0x01] }
    );
}

#[tokio::test]
async fn server_messages_round_trip() {
    let (mut client, mut server) = tokio::io::duplex(4096);
    let open = OpenOrder {
        order_id: Some(12),
        contract: Some(stock("AAPL")),
        order: Some(Order {
            client_id: Some(7),
            order_id: Some(12),
            perm_id: Some(9_000_012),
            action: Some(side::BUY.to_owned()),
            total_quantity: Some("100".to_owned()),
            order_type: Some("MKT".to_owned()),
            ..Order::default()
        }),
        state: Some(OrderState { status: Some(status::SUBMITTED.to_owned()), ..OrderState::default() }),
    };
    let order_status = OrderStatus {
        order_id: Some(12),
        status: Some(status::FILLED.to_owned()),
        filled: Some("100".to_owned()),
        remaining: Some("0".to_owned()),
        avg_fill_price: Some(187.5),
        perm_id: Some(9_000_012),
        parent_id: Some(0),
        last_fill_price: Some(187.5),
        client_id: Some(7),
        why_held: None,
        mkt_cap_price: Some(0.0),
    };
    let execution = ExecutionData {
        req_id: Some(NO_ID),
        contract: Some(stock("AAPL")),
        execution: Some(Execution {
            order_id: Some(12),
            exec_id: Some("0001.01".to_owned()),
            time: Some("20250102 14:30:05 UTC".to_owned()),
            account: Some("DU1".to_owned()),
            exchange: Some("PAPER".to_owned()),
            side: Some(side::BOUGHT.to_owned()),
            shares: Some("100".to_owned()),
            price: Some(187.5),
            perm_id: Some(9_000_012),
            client_id: Some(7),
            cum_qty: Some("100".to_owned()),
            avg_price: Some(187.5),
            order_ref: Some("plan-1".to_owned()),
            last_liquidity: Some(2),
        }),
    };
    let commission = CommissionReport {
        exec_id: Some("0001.01".to_owned()),
        commission: Some(1.0),
        currency: Some("USD".to_owned()),
        realized_pnl: Some(UNSET_DOUBLE),
    };
    let error = ErrorMessage {
        id: Some(12),
        time_millis: Some(1_735_828_205_000),
        code: Some(error_code::ORDER_CANCELLED),
        message: Some("Order Canceled - reason:".to_owned()),
        advanced_reject_json: None,
    };
    write_message(&mut server, &open).await.unwrap();
    write_message(&mut server, &order_status).await.unwrap();
    write_message(&mut server, &execution).await.unwrap();
    write_message(&mut server, &commission).await.unwrap();
    write_message(&mut server, &error).await.unwrap();
    write_message(&mut server, &ExecutionDataEnd { req_id: Some(FIRST_REQUEST_ID) }).await.unwrap();

    let mut next = async || read_frame(&mut client).await.unwrap().unwrap();
    assert_eq!(OpenOrder::from_body(&next().await).unwrap(), open);
    assert_eq!(OrderStatus::from_body(&next().await).unwrap(), order_status);
    assert_eq!(ExecutionData::from_body(&next().await).unwrap(), execution);
    assert_eq!(CommissionReport::from_body(&next().await).unwrap(), commission);
    let body = next().await;
    assert_eq!(split_message(&body).unwrap().0, out_id::ERROR + PROTOBUF_ID_OFFSET);
    assert_eq!(ErrorMessage::from_body(&body).unwrap(), error);
    let body = next().await;
    assert!(matches!(
        OrderStatus::from_body(&body),
        Err(WireError::UnexpectedMessage { expected: out_id::ORDER_STATUS, actual: out_id::EXECUTION_DATA_END })
    ));
    assert_eq!(ExecutionDataEnd::from_body(&body).unwrap().req_id, Some(FIRST_REQUEST_ID));
}

#[test]
fn ticks_positions_and_summary_round_trip() {
    let price = TickPrice {
        req_id: Some(FIRST_REQUEST_ID),
        tick_type: Some(tick_type::DELAYED_LAST),
        price: Some(187.5),
        size: Some("300".to_owned()),
        attributes: Some(0),
    };
    assert_eq!(TickPrice::from_body(&price.to_body()).unwrap(), price);
    let size = TickSize {
        req_id: Some(FIRST_REQUEST_ID),
        tick_type: Some(tick_type::DELAYED_VOLUME),
        size: Some("1200".to_owned()),
    };
    assert_eq!(TickSize::from_body(&size.to_body()).unwrap(), size);
    let position = Position {
        account: Some("DU1".to_owned()),
        contract: Some(stock("AAPL")),
        quantity: Some("0".to_owned()),
        avg_cost: Some(0.0),
    };
    assert_eq!(Position::from_body(&position.to_body()).unwrap(), position);
    let summary = AccountSummary {
        req_id: Some(FIRST_REQUEST_ID),
        account: Some("DU1".to_owned()),
        tag: Some("NetLiquidation".to_owned()),
        value: Some("100000.00".to_owned()),
        currency: Some("USD".to_owned()),
    };
    assert_eq!(AccountSummary::from_body(&summary.to_body()).unwrap(), summary);
    assert_eq!(
        split_protobuf(&PositionEnd {}.to_body()).unwrap(),
        (out_id::POSITION_END, &[][..]),
        "empty messages are the id alone"
    );
}
