//! Byte-exact handshake vectors (docs/protocol.md §16.3) and in-memory initiator ↔
//! acceptor runs covering every status path.

use beamnode::proto::handshake::messages::{Complement, OldSendName, SendName};
use beamnode::proto::handshake::*;
use beamnode::proto::DistFlags;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn cookie(c: &str) -> Cookie {
    Cookie::new(c).unwrap()
}

fn expect_continue(step: Step<InitiatorNext>) -> (Initiator, Vec<u8>) {
    match step.next {
        InitiatorNext::Continue(i) => (i, step.send),
        other => panic!("expected Continue, got {other:?}"),
    }
}

#[test]
fn vector_a_we_dial_otp() {
    let (init, out) = Initiator::start(InitiatorConfig {
        our_name: LocalName::Static("py@localhost".into()),
        our_creation: 0x6B06_2EB9,
        our_flags: DistFlags(0x0000_000D_075F_1FBD),
        cookie: cookie("testcookie"),
        our_challenge: 0x1234_ABCD,
        peer_name: "otpa@localhost".into(),
        reconnecting: false,
    })
    .unwrap();
    assert_eq!(
        out,
        hex("00 1b 4e 00 00 00 0d 07 5f 1f bd 6b 06 2e b9 00 0c 70 79 40 6c 6f 63 61 6c 68 6f 73 74")
    );
    let (init, out) = expect_continue(init.handle(&hex("00 03 73 6f 6b")).unwrap());
    assert!(out.is_empty());
    let challenge = hex(
        "00 21 4e 00 00 00 0d 07 df 7f bd 1d a2 bd 74 6b 06 2e ac 00 0e
         6f 74 70 61 40 6c 6f 63 61 6c 68 6f 73 74",
    );
    let (init, out) = expect_continue(init.handle(&challenge).unwrap());
    assert_eq!(
        out,
        hex("00 15 72 12 34 ab cd ea 6a 0a e4 b7 23 9f 00 96 85 f0 8d 84 e3 64 4e")
    );
    let mut ack = hex("00 11 61 d4 68 f5 d3 4d 72 06 b6 98 14 17 a3 ac 82 30 ba");
    ack.extend_from_slice(&hex("00 00 00 5c 70 83 68 04 61 06"));
    let step = init.handle(&ack).unwrap();
    assert!(step.send.is_empty());
    let InitiatorNext::Established(est) = step.next else {
        panic!("not established: {:?}", step.next)
    };
    assert_eq!(est.peer_name, "otpa@localhost");
    assert_eq!(est.peer_creation, 0x6B06_2EAC);
    assert_eq!(est.our_name, "py@localhost");
    assert_eq!(est.our_creation, 0x6B06_2EB9);
    assert_eq!(est.peer_flags, DistFlags(0x0000_000D_07DF_7FBD));
    assert_eq!(est.negotiated, DistFlags(0x0000_000D_075F_1FBD));
    assert!(est.is_visible());
    assert_eq!(est.leftover, hex("00 00 00 5c 70 83 68 04 61 06"));
}

#[test]
fn vector_b_otp_dials_us() {
    let acc = Acceptor::new(AcceptorConfig {
        our_name: "py@localhost".into(),
        our_creation: 0x6B06_2EBA,
        our_flags: DistFlags(0x0000_000D_075F_5FBD),
        cookie: cookie("testcookie"),
        our_challenge: 0x1234_ABCD,
        name_me_random: 1,
        name_me_creation: 2,
    })
    .unwrap();
    let name = hex("00 20 4e 00 00 00 0d 07 df 7f bd 6b 06 2e d6 00 11
         6f 74 70 5f 76 69 73 40 6c 6f 63 61 6c 68 6f 73 74");
    let step = acc.handle(&name).unwrap();
    assert!(step.send.is_empty());
    let AcceptorNext::NeedStatus(pending) = step.next else {
        panic!("expected NeedStatus")
    };
    assert_eq!(pending.peer_name(), "otp_vis@localhost");
    assert_eq!(pending.peer_creation(), Some(0x6B06_2ED6));
    assert_eq!(pending.peer_flags(), DistFlags(0x0000_000D_07DF_7FBD));
    let status = accept_status("py@localhost", pending.peer_name(), false, false);
    assert_eq!(status, Status::Ok);
    let step = pending.status(status).unwrap();
    let mut expected = hex("00 03 73 6f 6b");
    expected.extend(hex(
        "00 1f 4e 00 00 00 0d 07 5f 5f bd 12 34 ab cd 6b 06 2e ba 00 0c
         70 79 40 6c 6f 63 61 6c 68 6f 73 74",
    ));
    assert_eq!(step.send, expected);
    let AcceptorNext::Continue(acc) = step.next else {
        panic!("expected Continue")
    };
    let step = acc
        .handle(&hex(
            "00 15 72 59 89 92 aa d4 68 f5 d3 4d 72 06 b6 98 14 17 a3 ac 82 30 ba",
        ))
        .unwrap();
    assert_eq!(
        step.send,
        hex("00 11 61 59 a6 70 ce 0b a7 27 41 ce 03 fa c5 ea 36 ff 61")
    );
    let AcceptorNext::Established(est) = step.next else {
        panic!("not established")
    };
    assert_eq!(est.peer_name, "otp_vis@localhost");
    assert_eq!(est.peer_creation, 0x6B06_2ED6);
    assert_eq!(est.our_name, "py@localhost");
    assert_eq!(est.negotiated, DistFlags(0x0000_000D_075F_5FBD));
    assert!(est.is_visible());
    assert!(est.leftover.is_empty());
    assert!(!est.replaces_existing);
}

// ---------- in-memory pair ----------

const OURS: DistFlags = DistFlags(0x0000_000D_075F_1FBD);

fn init_cfg(name: &str, peer: &str, c: &str) -> InitiatorConfig {
    InitiatorConfig {
        our_name: LocalName::Static(name.into()),
        our_creation: 11,
        our_flags: OURS,
        cookie: cookie(c),
        our_challenge: 0xDEAD_BEEF,
        peer_name: peer.into(),
        reconnecting: false,
    }
}

fn acc_cfg(name: &str, c: &str) -> AcceptorConfig {
    AcceptorConfig {
        our_name: name.into(),
        our_creation: 22,
        our_flags: OURS,
        cookie: cookie(c),
        our_challenge: 0x0BAD_F00D,
        name_me_random: 36 * 36 + 5,
        name_me_creation: 77,
    }
}

/// How the simulated network delivers bytes.
#[derive(Clone, Copy)]
enum Delivery {
    Whole,
    ByteByByte,
}

/// Outcome of a pair run.
#[derive(Debug)]
struct PairResult {
    initiator: Result<String, String>,
    acceptor: Result<String, String>,
    init_est: Option<Established>,
    acc_est: Option<Established>,
}

fn run_pair(
    icfg: InitiatorConfig,
    acfg: AcceptorConfig,
    status: impl Fn(&AcceptorAwaitingStatus) -> Status,
    delivery: Delivery,
) -> PairResult {
    let (init, first) = Initiator::start(icfg).unwrap();
    let mut init = Some(init);
    let mut acc_cont = Some(Acceptor::new(acfg).unwrap());
    let mut to_acc: Vec<u8> = first;
    let mut to_init: Vec<u8> = Vec::new();
    let mut res = PairResult {
        initiator: Err("unfinished".into()),
        acceptor: Err("unfinished".into()),
        init_est: None,
        acc_est: None,
    };
    let chunk = |v: &mut Vec<u8>| -> Vec<u8> {
        match delivery {
            Delivery::Whole => std::mem::take(v),
            Delivery::ByteByByte => {
                if v.is_empty() {
                    Vec::new()
                } else {
                    vec![v.remove(0)]
                }
            }
        }
    };
    for _ in 0..10_000 {
        if to_acc.is_empty() && to_init.is_empty() {
            break;
        }
        if let Some(a) = acc_cont.take() {
            let input = chunk(&mut to_acc);
            match a.handle(&input) {
                Err(e) => res.acceptor = Err(format!("error: {e}")),
                Ok(step) => {
                    to_init.extend(step.send);
                    let mut next = step.next;
                    loop {
                        match next {
                            AcceptorNext::Continue(a) => {
                                acc_cont = Some(a);
                                break;
                            }
                            AcceptorNext::NeedStatus(p) => {
                                let s = status(&p);
                                match p.status(s) {
                                    Err(e) => {
                                        res.acceptor = Err(format!("error: {e}"));
                                        break;
                                    }
                                    Ok(step) => {
                                        to_init.extend(step.send);
                                        next = step.next;
                                    }
                                }
                            }
                            AcceptorNext::Established(e) => {
                                res.acceptor = Ok("established".into());
                                res.acc_est = Some(e);
                                break;
                            }
                            AcceptorNext::Closed(c) => {
                                res.acceptor = Ok(format!("closed {c:?}"));
                                break;
                            }
                            AcceptorNext::Refused(e) => {
                                res.acceptor = Err(format!("refused: {e}"));
                                break;
                            }
                        }
                    }
                }
            }
        } else {
            to_acc.clear();
        }
        if let Some(i) = init.take() {
            let input = chunk(&mut to_init);
            match i.handle(&input) {
                Err(e) => res.initiator = Err(format!("error: {e}")),
                Ok(step) => {
                    to_acc.extend(step.send);
                    match step.next {
                        InitiatorNext::Continue(i) => init = Some(i),
                        InitiatorNext::Established(e) => {
                            res.initiator = Ok("established".into());
                            res.init_est = Some(e);
                        }
                        other => res.initiator = Ok(format!("{other:?}")),
                    }
                }
            }
        } else {
            to_init.clear();
        }
    }
    res
}

fn ok_status(_: &AcceptorAwaitingStatus) -> Status {
    Status::Ok
}

#[test]
fn pair_whole_and_byte_by_byte() {
    for d in [Delivery::Whole, Delivery::ByteByByte] {
        let r = run_pair(
            init_cfg("a@h", "b@h", "c"),
            acc_cfg("b@h", "c"),
            ok_status,
            d,
        );
        let (i, a) = (r.init_est.unwrap(), r.acc_est.unwrap());
        assert_eq!(i.peer_name, "b@h");
        assert_eq!(a.peer_name, "a@h");
        assert_eq!(i.peer_creation, 22);
        assert_eq!(a.peer_creation, 11);
        assert_eq!(i.negotiated, a.negotiated);
        assert!(i.leftover.is_empty() && a.leftover.is_empty());
    }
}

#[test]
fn wrong_cookie_rejected_by_acceptor() {
    let r = run_pair(
        init_cfg("a@h", "b@h", "x"),
        acc_cfg("b@h", "y"),
        ok_status,
        Delivery::Whole,
    );
    assert!(r.acceptor.unwrap_err().contains("invalid challenge reply"));
    assert!(r.init_est.is_none());
}

#[test]
fn wrong_cookie_rejected_by_initiator() {
    // Craft an acceptor that accepts any reply: feed a forged ack to the initiator.
    let (init, _) = Initiator::start(init_cfg("a@h", "b@h", "x")).unwrap();
    let (init, _) = expect_continue(init.handle(&hex("00 03 73 6f 6b")).unwrap());
    let mut ch = Vec::new();
    messages::Challenge {
        flags: OURS,
        challenge: 5,
        creation: 1,
        name: "b@h".into(),
    }
    .encode(&mut ch)
    .unwrap();
    let (init, reply) = expect_continue(init.handle(&ch).unwrap());
    assert_eq!(reply.len(), 23);
    let mut ack = Vec::new();
    messages::ChallengeAck {
        digest: gen_digest(0xDEAD_BEEF, &cookie("y")),
    }
    .encode(&mut ack)
    .unwrap();
    let err = init.handle(&ack).unwrap_err();
    assert!(
        matches!(err, HandshakeError::InvalidChallengeAck { .. }),
        "{err}"
    );
}

#[test]
fn name_mismatch_aborts_initiator() {
    let r = run_pair(
        init_cfg("a@h", "b@h.example", "c"),
        acc_cfg("b@h", "c"),
        ok_status,
        Delivery::Whole,
    );
    assert!(r.initiator.unwrap_err().contains("dialled b@h.example"));
}

#[test]
fn peer_lacking_big_creation_gets_not_allowed() {
    let acc = Acceptor::new(acc_cfg("b@h", "c")).unwrap();
    let mut name = Vec::new();
    SendName {
        flags: DistFlags(
            DistFlags::REQUIRED.bits() & !DistFlags::BIG_CREATION.bits()
                | DistFlags::PUBLISHED.bits(),
        ),
        creation: 1,
        name: "old@h".into(),
    }
    .encode(&mut name)
    .unwrap();
    let step = acc.handle(&name).unwrap();
    assert_eq!(step.send, hex("00 0c 73 6e 6f 74 5f 61 6c 6c 6f 77 65 64"));
    let AcceptorNext::Refused(err) = step.next else {
        panic!("expected Refused")
    };
    assert_eq!(
        err,
        HandshakeError::MissingFlags {
            peer: "old@h".into(),
            missing: DistFlags::BIG_CREATION
        }
    );
    assert!(err.to_string().contains("BIG_CREATION"));
}

#[test]
fn initiator_refuses_acceptor_lacking_flags() {
    let mut acfg = acc_cfg("b@h", "c");
    acfg.our_flags = DistFlags(OURS.bits() & !DistFlags::V4_NC.bits());
    let r = run_pair(
        init_cfg("a@h", "b@h", "c"),
        acfg,
        ok_status,
        Delivery::Whole,
    );
    let e = r.initiator.unwrap_err();
    assert!(e.contains("V4_NC"), "{e}");
}

#[test]
fn digest_only_flags_accepted() {
    let flags = DistFlags(0x400_0001) | DistFlags::V4_NC | DistFlags::UNLINK_ID;
    let mut icfg = init_cfg("a@h", "b@h", "c");
    icfg.our_flags = flags;
    let mut acfg = acc_cfg("b@h", "c");
    acfg.our_flags = flags;
    let r = run_pair(icfg, acfg, ok_status, Delivery::Whole);
    let a = r.acc_est.unwrap();
    assert!(a.peer_flags.contains(DistFlags::MANDATORY_25));
    assert!(a.negotiated.contains(DistFlags::REQUIRED));
    assert!(r
        .init_est
        .unwrap()
        .peer_flags
        .contains(DistFlags::BIG_CREATION));
}

#[test]
fn old_name_with_complement() {
    // An OTP 23/24 peer dialling without EPMD: 'n' then 'c' after our 'N' challenge.
    let acc = Acceptor::new(acc_cfg("b@h", "c")).unwrap();
    let mut name = Vec::new();
    OldSendName {
        version: 5,
        flags: (OURS.bits() & 0xFFFF_FFFF) as u32,
        name: "old@h".into(),
    }
    .encode(&mut name)
    .unwrap();
    let step = acc.handle(&name).unwrap();
    let AcceptorNext::NeedStatus(p) = step.next else {
        panic!("expected NeedStatus")
    };
    assert!(p.is_old_name());
    assert_eq!(p.peer_creation(), None);
    let step = p.status(Status::Ok).unwrap();
    // status ok + 'N' challenge
    assert_eq!(&step.send[..5], &hex("00 03 73 6f 6b")[..]);
    assert_eq!(step.send[7], b'N');
    let AcceptorNext::Continue(acc) = step.next else {
        panic!()
    };
    let mut msgs = Vec::new();
    Complement {
        flags_high: (OURS.bits() >> 32) as u32,
        creation: 99,
    }
    .encode(&mut msgs)
    .unwrap();
    messages::ChallengeReply {
        challenge: 42,
        digest: gen_digest(0x0BAD_F00D, &cookie("c")),
    }
    .encode(&mut msgs)
    .unwrap();
    let step = acc.handle(&msgs).unwrap();
    let AcceptorNext::Established(e) = step.next else {
        panic!()
    };
    assert_eq!(e.peer_creation, 99);
    assert_eq!(e.peer_flags, OURS.expand_digest());
    assert_eq!(step.send[2], b'a');
}

#[test]
fn old_name_complement_lacking_v4_nc_is_refused() {
    let acc = Acceptor::new(acc_cfg("b@h", "c")).unwrap();
    let mut name = Vec::new();
    OldSendName {
        version: 5,
        flags: (OURS.bits() & 0xFFFF_FFFF) as u32,
        name: "old@h".into(),
    }
    .encode(&mut name)
    .unwrap();
    let AcceptorNext::NeedStatus(p) = acc.handle(&name).unwrap().next else {
        panic!()
    };
    let AcceptorNext::Continue(acc) = p.status(Status::Ok).unwrap().next else {
        panic!()
    };
    let mut c = Vec::new();
    Complement {
        flags_high: 0,
        creation: 1,
    }
    .encode(&mut c)
    .unwrap();
    let err = acc.handle(&c).unwrap_err();
    assert!(err.to_string().contains("V4_NC"), "{err}");
}

#[test]
fn named_path() {
    let mut icfg = init_cfg("ignored@h", "b@h", "c");
    icfg.our_name = LocalName::NameMe { host: "h2".into() };
    let (init, first) = Initiator::start(icfg.clone()).unwrap();
    drop(init);
    let sent = SendName::decode(&first[2..]).unwrap();
    assert_eq!(sent.name, "h2");
    assert_eq!(sent.creation, 0);
    assert!(sent.flags.contains(DistFlags::NAME_ME));
    assert!(!sent.flags.contains(DistFlags::PUBLISHED));
    let r = run_pair(
        icfg,
        acc_cfg("b@h", "c"),
        |p| {
            assert_eq!(p.name_me_host(), Some("h2"));
            Status::Ok
        },
        Delivery::ByteByByte,
    );
    let i = r.init_est.unwrap();
    let a = r.acc_est.unwrap();
    assert_eq!(i.our_name, "105@h2");
    assert_eq!(i.our_creation, 77);
    assert_eq!(a.peer_name, "105@h2");
    assert_eq!(a.peer_creation, 77);
    assert!(!i.is_visible() && !a.is_visible());
}

#[test]
fn nok_path() {
    // b@h > a@h and b has its own pending attempt: b answers nok.
    let r = run_pair(
        init_cfg("a@h", "b@h", "c"),
        acc_cfg("b@h", "c"),
        |p| accept_status("b@h", p.peer_name(), true, false),
        Delivery::Whole,
    );
    assert_eq!(r.acceptor.unwrap(), "closed Nok");
    assert_eq!(r.initiator.unwrap(), "Nok");
}

#[test]
fn ok_simultaneous_path() {
    let r = run_pair(
        init_cfg("z@h", "b@h", "c"),
        acc_cfg("b@h", "c"),
        |p| {
            let s = accept_status("b@h", p.peer_name(), true, false);
            assert_eq!(s, Status::OkSimultaneous);
            s
        },
        Delivery::ByteByByte,
    );
    assert!(r.init_est.is_some() && r.acc_est.is_some());
}

#[test]
fn alive_path_reconnecting_and_not() {
    let alive = |p: &AcceptorAwaitingStatus| accept_status("b@h", p.peer_name(), false, true);
    let mut icfg = init_cfg("a@h", "b@h", "c");
    icfg.reconnecting = true;
    let r = run_pair(icfg, acc_cfg("b@h", "c"), alive, Delivery::ByteByByte);
    assert!(r.init_est.is_some());
    assert!(r.acc_est.unwrap().replaces_existing);

    let r = run_pair(
        init_cfg("a@h", "b@h", "c"),
        acc_cfg("b@h", "c"),
        alive,
        Delivery::Whole,
    );
    assert_eq!(r.initiator.unwrap(), "AliveDeclined");
    assert_eq!(r.acceptor.unwrap(), "closed PeerDeclinedAlive");
}

#[test]
fn not_allowed_by_driver() {
    let r = run_pair(
        init_cfg("a@h", "b@h", "c"),
        acc_cfg("b@h", "c"),
        |_| Status::NotAllowed,
        Delivery::Whole,
    );
    assert_eq!(r.acceptor.unwrap(), "closed NotAllowed");
    assert!(r.initiator.unwrap_err().contains("not_allowed"));
}

#[test]
fn bad_names_refused() {
    for bad in ["@h", "a@", "noat", ""] {
        let acc = Acceptor::new(acc_cfg("b@h", "c")).unwrap();
        let mut name = Vec::new();
        SendName {
            flags: OURS,
            creation: 1,
            name: bad.into(),
        }
        .encode(&mut name)
        .unwrap();
        let err = acc.handle(&name).unwrap_err();
        assert!(
            matches!(err, HandshakeError::InvalidNodeName { .. }),
            "{bad}: {err}"
        );
    }
    assert!(Initiator::start(init_cfg("noat", "b@h", "c")).is_err());
    assert!(Acceptor::new(acc_cfg("b@", "c")).is_err());
}

#[test]
fn old_challenge_and_stray_statuses_refused() {
    // An OTP <= 22 style 'n' challenge lacks the 26+ flags.
    let (init, _) = Initiator::start(init_cfg("a@h", "b@h", "c")).unwrap();
    let (init, _) = expect_continue(init.handle(&hex("00 03 73 6f 6b")).unwrap());
    let mut ch = Vec::new();
    messages::OldChallenge {
        version: 5,
        flags: (OURS.bits() & 0xFFFF_FFFF) as u32,
        challenge: 1,
        name: "b@h".into(),
    }
    .encode(&mut ch)
    .unwrap();
    let err = init.handle(&ch).unwrap_err();
    assert!(err.to_string().contains("V4_NC"), "{err}");

    // named: although we did not ask for a dynamic name.
    let (init, _) = Initiator::start(init_cfg("a@h", "b@h", "c")).unwrap();
    let mut st = Vec::new();
    StatusMessage::Named {
        name: "x@h".into(),
        creation: 1,
    }
    .encode(&mut st)
    .unwrap();
    assert!(matches!(
        init.handle(&st).unwrap_err(),
        HandshakeError::UnexpectedStatus(_)
    ));

    // Unknown status text.
    let (init, _) = Initiator::start(init_cfg("a@h", "b@h", "c")).unwrap();
    assert!(matches!(
        init.handle(&hex("00 04 73 6d 65 68")).unwrap_err(),
        HandshakeError::UnknownStatus(_)
    ));
}
