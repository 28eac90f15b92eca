//! Byte-vector tests and proptest round trips for the EPMD codec (docs/protocol.md §1).

use beamnode::proto::epmd::*;
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

#[test]
fn alive2_req_has_the_otp25_shape() {
    // §16.1: `78 <port> 4D 00 00 06 00 05 …` for visible and hidden OTP 25.2.3 nodes.
    let bytes = EpmdRequest::Alive2(NodeInfo::otp("py", 40263))
        .encode()
        .unwrap();
    assert_eq!(
        bytes,
        hex("00 0f 78 9d 47 4d 00 00 06 00 05 00 02 70 79 00 00")
    );
    let (decoded, used) = EpmdRequest::decode(&bytes).unwrap().unwrap();
    assert_eq!(used, bytes.len());
    assert_eq!(decoded, EpmdRequest::Alive2(NodeInfo::otp("py", 40263)));
}

#[test]
fn simple_requests_encode() {
    assert_eq!(
        EpmdRequest::PortPlease2 {
            name: "otpa".into()
        }
        .encode()
        .unwrap(),
        hex("00 05 7a 6f 74 70 61")
    );
    assert_eq!(EpmdRequest::Names.encode().unwrap(), hex("00 01 6e"));
    assert_eq!(EpmdRequest::Dump.encode().unwrap(), hex("00 01 64"));
    assert_eq!(EpmdRequest::Kill.encode().unwrap(), hex("00 01 6b"));
    assert_eq!(
        EpmdRequest::Stop { name: "a".into() }.encode().unwrap(),
        hex("00 02 73 61")
    );
}

#[test]
fn framing_is_two_pass() {
    let bytes = EpmdRequest::Alive2(NodeInfo::otp("node", 1))
        .encode()
        .unwrap();
    for cut in 0..bytes.len() {
        assert_eq!(request_frame_len(&bytes[..cut]).unwrap(), None, "cut {cut}");
        assert!(EpmdRequest::decode(&bytes[..cut]).unwrap().is_none());
    }
    let mut two = bytes.clone();
    two.extend_from_slice(&hex("00 01 6e"));
    let (_, used) = EpmdRequest::decode(&two).unwrap().unwrap();
    assert_eq!(used, bytes.len());
    assert_eq!(
        EpmdRequest::decode(&two[used..]).unwrap().unwrap().0,
        EpmdRequest::Names
    );
}

#[test]
fn length_limits_are_epmds() {
    assert!(matches!(
        request_frame_len(&hex("00 00")),
        Err(EpmdError::BadLength(0))
    ));
    // 3057 + 2 = 3059 < 3060 is fine (incomplete), 3058 + 2 = 3060 is refused.
    assert_eq!(request_frame_len(&hex("0b f1")).unwrap(), None);
    assert!(matches!(
        request_frame_len(&hex("0b f2")),
        Err(EpmdError::BadLength(3058))
    ));
    assert!(matches!(
        request_frame_len(&hex("ff ff")),
        Err(EpmdError::BadLength(65535))
    ));
}

#[test]
fn bad_requests_are_typed_errors() {
    assert!(matches!(
        EpmdRequest::decode(&hex("00 01 01")),
        Err(EpmdError::UnknownRequest(1))
    ));
    // ALIVE2 whose name length runs past the packet.
    assert!(matches!(
        EpmdRequest::decode(&hex("00 0e 78 00 01 4d 00 00 06 00 05 00 09 61 00 00")),
        Err(EpmdError::Malformed { .. })
    ));
    // Empty, NUL-containing and non-UTF-8 names.
    assert!(matches!(
        EpmdRequest::decode(&hex("00 01 7a")),
        Err(EpmdError::InvalidName(NameError::Empty))
    ));
    assert!(matches!(
        EpmdRequest::decode(&hex("00 04 7a 61 00 62")),
        Err(EpmdError::InvalidName(NameError::ContainsNul))
    ));
    assert!(matches!(
        EpmdRequest::decode(&hex("00 03 7a c0 80")),
        Err(EpmdError::InvalidName(NameError::NotUtf8))
    ));
    // One trailing NUL after a PORT_PLEASE2 name is tolerated (old C-string clients).
    assert_eq!(
        EpmdRequest::decode(&hex("00 03 7a 61 00"))
            .unwrap()
            .unwrap()
            .0,
        EpmdRequest::PortPlease2 { name: "a".into() }
    );
    let long = "é".repeat(256);
    assert!(matches!(
        EpmdRequest::PortPlease2 { name: long }.encode(),
        Err(EpmdError::InvalidName(NameError::TooLong(256)))
    ));
    let mut info = NodeInfo::otp("a", 1);
    info.extra = vec![0; 1021];
    assert!(matches!(
        EpmdRequest::Alive2(info).encode(),
        Err(EpmdError::ExtraTooLong(1021))
    ));
}

#[test]
fn alive2_replies() {
    let x = Alive2Resp::for_version(6, 0, 1795567289);
    assert_eq!(x.encode(), hex("76 00 6b 06 2e b9"));
    let old = Alive2Resp::for_version(5, 0, 2);
    assert_eq!(old.encode(), hex("79 00 00 02"));
    assert_eq!(Alive2Resp::refused(6).encode(), hex("76 01 00 00 00 63"));
    assert_eq!(Alive2Resp::refused(0).encode(), hex("79 01 00 63"));
    assert_eq!(Alive2Resp::decode(&hex("76 00 6b 06 2e")).unwrap(), None);
    assert_eq!(
        Alive2Resp::decode(&hex("76 00 6b 06 2e b9")).unwrap(),
        Some((x, 6))
    );
    assert!(Alive2Resp::decode(&hex("77 00")).is_err());
}

#[test]
fn port2_replies() {
    assert_eq!(
        Port2Resp::decode(&hex("77 01")).unwrap(),
        Some((Port2Resp::NotFound { result: 1 }, 2))
    );
    let ok = hex("77 00 af c9 4d 00 00 06 00 05 00 04 6f 74 70 61 00 00");
    let (resp, used) = Port2Resp::decode(&ok).unwrap().unwrap();
    assert_eq!(used, ok.len());
    assert_eq!(resp, Port2Resp::Found(NodeInfo::otp("otpa", 45001)));
    assert_eq!(resp.encode().unwrap(), ok);
    for cut in 0..ok.len() {
        assert_eq!(Port2Resp::decode(&ok[..cut]).unwrap(), None, "cut {cut}");
    }
}

#[test]
fn text_replies() {
    let names = NamesResp {
        epmd_port: 4369,
        nodes: vec![("a".into(), 1), ("b c".into(), 65535)],
    };
    let bytes = names.encode();
    let mut expected = hex("00 00 11 11");
    expected.extend_from_slice(b"name a at port 1\nname b c at port 65535\n");
    assert_eq!(bytes, expected);
    assert_eq!(NamesResp::decode(&bytes).unwrap(), names);
    // Garbage lines are skipped, not fatal.
    let mut odd = hex("00 00 11 11");
    odd.extend_from_slice(b"hello\nname x at port 7\n");
    assert_eq!(
        NamesResp::decode(&odd).unwrap().nodes,
        vec![("x".into(), 7)]
    );
    assert!(NamesResp::decode(&[0, 0]).is_err());

    let dump = DumpResp {
        epmd_port: 4369,
        active: vec![DumpEntry {
            name: "a".into(),
            port: 5,
            fd: 7,
        }],
        unused: vec![DumpEntry {
            name: "b".into(),
            port: 6,
            fd: 8,
        }],
    };
    let bytes = dump.encode();
    let mut expected = hex("00 00 11 11");
    expected.extend_from_slice(b"active name     <a> at port 5, fd = 7\n\0");
    expected.extend_from_slice(b"old/unused name <b>, port = 6, fd = 8 \n\0");
    assert_eq!(bytes, expected);
    assert_eq!(DumpResp::decode(&bytes).unwrap(), dump);

    assert_eq!(KillResp::decode(b"OK").unwrap(), KillResp::Ok);
    assert_eq!(KillResp::decode(b"NO").unwrap(), KillResp::No);
    assert_eq!(StopResp::decode(b"STOPPED").unwrap(), StopResp::Stopped);
    assert_eq!(
        StopResp::decode(b"NOEXISTSTOPPED").unwrap(),
        StopResp::NoExist
    );
    assert!(KillResp::decode(b"?").is_err());
}

#[test]
fn best_version() {
    let info = NodeInfo::otp("a", 1);
    assert_eq!(info.best_version(5, 6), Some(6));
    assert_eq!(info.best_version(5, 5), Some(5));
    assert_eq!(info.best_version(7, 8), None);
}

fn name() -> impl Strategy<Value = String> {
    // 1..=255 characters, no NUL, no newline (NAMES lines are newline-separated).
    proptest::collection::vec(
        any::<char>().prop_filter("no NUL/newline", |c| *c != '\0' && *c != '\n'),
        1..=255,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn node_info() -> impl Strategy<Value = NodeInfo> {
    (
        name(),
        any::<u16>(),
        any::<u8>(),
        any::<u8>(),
        any::<u16>(),
        any::<u16>(),
        proptest::collection::vec(any::<u8>(), 0..=1020),
    )
        .prop_map(
            |(name, port, node_type, protocol, highest_version, lowest_version, extra)| NodeInfo {
                name,
                port,
                node_type,
                protocol,
                highest_version,
                lowest_version,
                extra,
            },
        )
}

fn request() -> impl Strategy<Value = EpmdRequest> {
    prop_oneof![
        node_info().prop_map(EpmdRequest::Alive2),
        name().prop_map(|name| EpmdRequest::PortPlease2 { name }),
        Just(EpmdRequest::Names),
        Just(EpmdRequest::Dump),
        Just(EpmdRequest::Kill),
        name().prop_map(|name| EpmdRequest::Stop { name }),
    ]
}

proptest! {
    #[test]
    fn request_round_trip(req in request(), tail in proptest::collection::vec(any::<u8>(), 0..8)) {
        let bytes = req.encode().unwrap();
        prop_assert!(bytes.len() < INBUF_SIZE);
        let mut buf = bytes.clone();
        buf.extend_from_slice(&tail);
        let (decoded, used) = EpmdRequest::decode(&buf).unwrap().unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(decoded, req);
        prop_assert_eq!(EpmdRequest::decode(&bytes[..bytes.len() - 1]).unwrap(), None);
    }

    #[test]
    fn alive2_resp_round_trip(high in any::<u16>(), result in any::<u8>(), creation in any::<u32>()) {
        let resp = Alive2Resp::for_version(high, result, creation);
        let bytes = resp.encode();
        prop_assert_eq!(bytes.len(), if high >= 6 { 6 } else { 4 });
        prop_assert_eq!(Alive2Resp::decode(&bytes).unwrap(), Some((resp, bytes.len())));
    }

    #[test]
    fn port2_resp_round_trip(info in node_info(), result in 1u8..) {
        for resp in [Port2Resp::Found(info.clone()), Port2Resp::NotFound { result }] {
            let bytes = resp.encode().unwrap();
            prop_assert_eq!(Port2Resp::decode(&bytes).unwrap(), Some((resp, bytes.len())));
        }
    }

    #[test]
    fn names_resp_round_trip(port in any::<u32>(), nodes in proptest::collection::vec((name(), any::<u16>()), 0..20)) {
        let resp = NamesResp { epmd_port: port, nodes };
        prop_assert_eq!(NamesResp::decode(&resp.encode()).unwrap(), resp);
    }

    #[test]
    fn dump_resp_round_trip(
        port in any::<u32>(),
        active in proptest::collection::vec((name(), any::<u16>(), any::<i32>()), 0..10),
        unused in proptest::collection::vec((name(), any::<u16>(), any::<i32>()), 0..10),
    ) {
        let entry = |(name, port, fd): (String, u16, i32)| DumpEntry { name, port, fd };
        let resp = DumpResp {
            epmd_port: port,
            active: active.into_iter().map(entry).collect(),
            unused: unused.into_iter().map(entry).collect(),
        };
        prop_assert_eq!(DumpResp::decode(&resp.encode()).unwrap(), resp);
    }

    #[test]
    fn text_replies_round_trip(kill_ok in any::<bool>(), stopped in any::<bool>()) {
        let kill = if kill_ok { KillResp::Ok } else { KillResp::No };
        prop_assert_eq!(KillResp::decode(kill.encode()).unwrap(), kill);
        let stop = if stopped { StopResp::Stopped } else { StopResp::NoExist };
        prop_assert_eq!(StopResp::decode(stop.encode()).unwrap(), stop);
    }

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = EpmdRequest::decode(&bytes);
        let _ = Alive2Resp::decode(&bytes);
        let _ = Port2Resp::decode(&bytes);
        let _ = NamesResp::decode(&bytes);
        let _ = DumpResp::decode(&bytes);
    }
}
