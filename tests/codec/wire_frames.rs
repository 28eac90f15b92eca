//! Real OTP 25.2.3 frames from docs/protocol.md §16.4 (captured live, pass-through
//! framing): decoded byte-exact through framing → DistDecoder, checked field by field,
//! and re-encoded with DistEncoder to the identical bytes.

use beamnode::proto::control::{ControlMessage, ProcRef};
use beamnode::proto::dist::{DistDecoder, DistEncoder, DistMessage};
use beamnode::proto::framing::{Frame, FrameReader};
use beamnode::proto::DistFlags;
use beamnode::{Atom, Pid, Reference, Term};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const MONITOR_P: &str = "000000587083680461135877116f74705f766973406c6f63616c686f737400000009000000006b062ed6770a6e65745f
6b65726e656c5a000377116f74705f766973406c6f63616c686f73746b062ed60003734b2b6100015ff31528";

const REG_SEND: &str = "000000b47083680461065877116f74705f766973406c6f63616c686f737400000009000000006b062ed67700770a6e65
745f6b65726e656c83680377092467656e5f63616c6c68025877116f74705f766973406c6f63616c686f737400000009
000000006b062ed66c000000017705616c6961735a000377116f74705f766973406c6f63616c686f73746b062ed60003
734b2b6100015ff315286802770769735f6175746877116f74705f766973406c6f63616c686f7374";

const ALIAS_SEND: &str = "0000008170836803612158770c7079406c6f63616c686f737400000065000000006b062eba5a000377116f74705f7669
73406c6f63616c686f73746b062ed60003734b2b6100015ff315288368026c000000017705616c6961735a000377116f
74705f766973406c6f63616c686f73746b062ed60003734b2b6100015ff315287703796573";

const SPAWN_REQUEST: &str = "000000ca70836806611d5a000377116f74705f766973406c6f63616c686f73746b062ed6000373522b6000015ff31528
5877116f74705f766973406c6f63616c686f737400000009000000006b062ed65877116f74705f766973406c6f63616c
686f737400000047000000006b062ed66803770465727063770c657865637574655f63616c6c61046c0000000177076d
6f6e69746f726a836c000000045a000377116f74705f766973406c6f63616c686f73746b062ed6000373512b6000015f
f3152877016d7701666b0001016a";

const SPAWN_REPLY: &str = "0000006970836805611f5a000377116f74705f766973406c6f63616c686f73746b062ed6000373522b6000015ff31528
5877116f74705f766973406c6f63616c686f737400000009000000006b062ed6610258770c7079406c6f63616c686f73
7400000067000000006b062eba";

const PAYLOAD_MONITOR_P_EXIT: &str = "000000af70836804611c58770c7079406c6f63616c686f737400000067000000006b062eba5877116f74705f76697340
6c6f63616c686f737400000009000000006b062ed65a000377116f74705f766973406c6f63616c686f73746b062ed600
0373522b6000015ff315288368035a000377116f74705f766973406c6f63616c686f73746b062ed6000373512b600001
5ff31528770672657475726e6804770970795f726573756c7477016d7701666b000101";

const OTP: &str = "otp_vis@localhost";
const PY: &str = "py@localhost";
const OTP_CREATION: u32 = 0x6b06_2ed6;
const PY_CREATION: u32 = 0x6b06_2eba;

fn otp_pid(id: u32) -> Pid {
    Pid::new(Atom::new(OTP), id, 0, OTP_CREATION)
}
fn py_pid(id: u32) -> Pid {
    Pid::new(Atom::new(PY), id, 0, PY_CREATION)
}
fn otp_ref(w1: u32, w2: u32) -> Reference {
    Reference {
        node: Atom::new(OTP),
        creation: OTP_CREATION,
        ids: vec![w1, w2, 0x5ff3_1528],
    }
}
fn ping_ref() -> Reference {
    otp_ref(226123, 727777281)
}
fn req_id() -> Reference {
    otp_ref(226130, 727711745)
}
fn res_ref() -> Reference {
    otp_ref(226129, 727711745)
}
fn alias_tag(r: Reference) -> Term {
    Term::improper_list(vec![Term::atom("alias")], Term::Ref(r))
}

/// A hand-made node's negotiated flags: no atom cache, no fragments → pass-through.
fn pass_through_flags() -> DistFlags {
    DistFlags(0x0000_000D_075F_1FBD)
        & DistFlags(!(DistFlags::DIST_HDR_ATOM_CACHE.0 | DistFlags::FRAGMENTS.0))
}

/// Splits `wire` with the framing layer (exactly one data frame expected) and decodes it.
fn decode_frame(wire: &[u8]) -> DistMessage {
    let mut reader = FrameReader::new();
    reader.extend(wire);
    let payload = match reader.next_frame().unwrap() {
        Some(Frame::Data(d)) => d.to_vec(),
        other => panic!("expected a data frame, got {other:?}"),
    };
    assert_eq!(reader.next_frame().unwrap(), None);
    assert_eq!(reader.buffered(), 0);
    let mut dec = DistDecoder::new(pass_through_flags());
    dec.decode(&payload).unwrap().expect("a complete message")
}

/// Decodes, runs `check`, re-encodes and compares with the captured bytes.
fn roundtrip(hex_frame: &str, check: impl FnOnce(&DistMessage)) {
    let wire = hex(hex_frame);
    let msg = decode_frame(&wire);
    check(&msg);
    let mut out = Vec::new();
    DistEncoder::new(pass_through_flags())
        .encode_frame(&msg.control, msg.payload.as_ref(), &mut out)
        .unwrap();
    assert_eq!(hex_string(&out), hex_string(&wire), "re-encoding differs");
}

fn hex_string(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn ping_monitor_p() {
    roundtrip(MONITOR_P, |m| {
        assert_eq!(
            m.control,
            ControlMessage::MonitorP {
                from: otp_pid(9),
                to: ProcRef::Name(Atom::new("net_kernel")),
                reference: ping_ref(),
            }
        );
        assert_eq!(m.control.op(), 19);
        assert_eq!(m.payload, None);
    });
}

#[test]
fn ping_reg_send() {
    roundtrip(REG_SEND, |m| {
        assert_eq!(
            m.control,
            ControlMessage::RegSend {
                from: otp_pid(9),
                to_name: Atom::new("net_kernel"),
                token: None,
            }
        );
        let expected = Term::tuple(vec![
            Term::atom("$gen_call"),
            Term::tuple(vec![Term::Pid(otp_pid(9)), alias_tag(ping_ref())]),
            Term::tuple(vec![Term::atom("is_auth"), Term::atom(OTP)]),
        ]);
        assert_eq!(m.payload.as_ref(), Some(&expected));
    });
}

#[test]
fn ping_alias_send_reply() {
    roundtrip(ALIAS_SEND, |m| {
        assert_eq!(
            m.control,
            ControlMessage::AliasSend {
                from: py_pid(101),
                alias: ping_ref(),
                token: None,
            }
        );
        let expected = Term::tuple(vec![alias_tag(ping_ref()), Term::atom("yes")]);
        assert_eq!(m.payload.as_ref(), Some(&expected));
    });
}

#[test]
fn rpc_spawn_request() {
    roundtrip(SPAWN_REQUEST, |m| {
        assert_eq!(
            m.control,
            ControlMessage::SpawnRequest {
                req_id: req_id(),
                from: otp_pid(9),
                group_leader: otp_pid(71),
                module: Atom::new("erpc"),
                function: Atom::new("execute_call"),
                arity: 4,
                opts: Term::list(vec![Term::atom("monitor")]),
                token: None,
            }
        );
        m.control.check_origin(&Atom::new(OTP)).unwrap();
        assert!(m.control.check_origin(&Atom::new(PY)).is_err());
        let expected = Term::list(vec![
            Term::Ref(res_ref()),
            Term::atom("m"),
            Term::atom("f"),
            Term::list(vec![Term::Int(1)]),
        ]);
        assert_eq!(m.payload.as_ref(), Some(&expected));
    });
}

#[test]
fn rpc_spawn_reply() {
    roundtrip(SPAWN_REPLY, |m| {
        assert_eq!(
            m.control,
            ControlMessage::SpawnReply {
                req_id: req_id(),
                to: otp_pid(9),
                flags: 2,
                result: Term::Pid(py_pid(103)),
                token: None,
            }
        );
        assert_eq!(m.payload, None);
    });
}

#[test]
fn rpc_payload_monitor_p_exit() {
    roundtrip(PAYLOAD_MONITOR_P_EXIT, |m| {
        assert_eq!(
            m.control,
            ControlMessage::PayloadMonitorPExit {
                from: ProcRef::Pid(py_pid(103)),
                to: otp_pid(9),
                reference: req_id(),
            }
        );
        let expected = Term::tuple(vec![
            Term::Ref(res_ref()),
            Term::atom("return"),
            Term::tuple(vec![
                Term::atom("py_result"),
                Term::atom("m"),
                Term::atom("f"),
                Term::list(vec![Term::Int(1)]),
            ]),
        ]);
        assert_eq!(m.payload.as_ref(), Some(&expected));
    });
}

/// All six captured frames back to back, split by the framing layer in odd chunks, plus
/// ticks in between.
#[test]
fn captured_stream_in_odd_chunks() {
    let mut wire = Vec::new();
    for f in [
        MONITOR_P,
        REG_SEND,
        ALIAS_SEND,
        SPAWN_REQUEST,
        SPAWN_REPLY,
        PAYLOAD_MONITOR_P_EXIT,
    ] {
        wire.extend(hex(f));
        wire.extend([0, 0, 0, 0]);
    }
    let mut reader = FrameReader::new();
    let mut dec = DistDecoder::new(pass_through_flags());
    let (mut ops, mut ticks) = (Vec::new(), 0);
    for chunk in wire.chunks(7) {
        reader.extend(chunk);
        while let Some(frame) = reader.next_frame().unwrap() {
            match frame {
                Frame::Tick => ticks += 1,
                Frame::Data(d) => ops.push(dec.decode(d).unwrap().unwrap().control.op()),
            }
        }
    }
    assert_eq!(ops, vec![19, 6, 33, 29, 31, 28]);
    assert_eq!(ticks, 6);
}

/// §13: the same message in header mode is `131 68 0` + terms without 131.
#[test]
fn section_13_reg_send_both_modes() {
    let from = Pid::new(Atom::new("a@h"), 85, 0, 1234);
    let control = ControlMessage::RegSend {
        from,
        to_name: Atom::new("net_kernel"),
        token: None,
    };
    let body_ctrl: Vec<u8> = [
        &[104, 4, 97, 6, 88, 119, 3][..],
        b"a@h",
        &[0, 0, 0, 85, 0, 0, 0, 0, 0, 0, 4, 210, 119, 0, 119, 10],
        b"net_kernel",
    ]
    .concat();
    let body_msg: Vec<u8> = [&[119, 5][..], b"hello"].concat();

    let pass: Vec<u8> = [&[112, 131][..], &body_ctrl, &[131], &body_msg].concat();
    let header: Vec<u8> = [&[131, 68, 0][..], &body_ctrl, &body_msg].concat();
    for (flags, payload) in [
        (DistFlags::empty(), pass),
        (DistFlags::FRAGMENTS, header.clone()),
        (DistFlags::DIST_HDR_ATOM_CACHE, header),
    ] {
        let mut expected = (payload.len() as u32).to_be_bytes().to_vec();
        expected.extend(&payload);
        let mut out = Vec::new();
        DistEncoder::new(flags)
            .without_atom_cache()
            .encode_frame(&control, Some(&Term::atom("hello")), &mut out)
            .unwrap();
        assert_eq!(out, expected, "flags {flags:?}");
        let got = DistDecoder::new(flags).decode(&payload).unwrap().unwrap();
        assert_eq!(got.control, control);
        assert_eq!(got.payload, Some(Term::atom("hello")));
    }
}
