//! proptest round trips for every handshake message (docs/protocol.md §2.2) and
//! "arbitrary bytes never panic" for every state.

use beamnode::proto::handshake::messages::*;
use beamnode::proto::handshake::*;
use beamnode::proto::DistFlags;
use proptest::prelude::*;

fn latin1_name() -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<u8>(), 0..300)
        .prop_map(|b| b.into_iter().map(char::from).collect())
}

/// Encodes, checks the frame is complete and exactly consumed, returns the body.
fn framed(encode: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    encode(&mut out);
    let (body, used) = take_frame(&out).expect("whole frame");
    assert_eq!(used, out.len());
    assert!(take_frame(&out[..out.len() - 1]).is_none());
    body.to_vec()
}

proptest! {
    #[test]
    fn send_name_round_trip(flags: u64, creation: u32, name in latin1_name()) {
        let m = SendName { flags: DistFlags(flags), creation, name };
        let body = framed(|o| m.encode(o).unwrap());
        prop_assert_eq!(SendName::decode(&body).unwrap(), m.clone());
        prop_assert_eq!(NameMessage::decode(&body).unwrap(), NameMessage::V6(m));
    }

    #[test]
    fn old_send_name_round_trip(version: u16, flags: u32, name in latin1_name()) {
        let m = OldSendName { version, flags, name };
        let body = framed(|o| m.encode(o).unwrap());
        prop_assert_eq!(OldSendName::decode(&body).unwrap(), m.clone());
        prop_assert_eq!(NameMessage::decode(&body).unwrap(), NameMessage::V5(m));
    }

    #[test]
    fn status_round_trip(which in 0usize..8, name in ".{0,100}", creation: u32) {
        let m = match which {
            0 => StatusMessage::Status(Status::Ok),
            1 => StatusMessage::Status(Status::OkSimultaneous),
            2 => StatusMessage::Status(Status::Nok),
            3 => StatusMessage::Status(Status::NotAllowed),
            4 => StatusMessage::Status(Status::Alive),
            5 => StatusMessage::AliveReply(true),
            6 => StatusMessage::AliveReply(false),
            _ => StatusMessage::Named { name, creation },
        };
        let body = framed(|o| m.encode(o).unwrap());
        prop_assert_eq!(StatusMessage::decode(&body).unwrap(), m);
    }

    #[test]
    fn challenge_round_trip(flags: u64, challenge: u32, creation: u32, name in latin1_name()) {
        let m = Challenge { flags: DistFlags(flags), challenge, creation, name };
        let body = framed(|o| m.encode(o).unwrap());
        prop_assert_eq!(Challenge::decode(&body).unwrap(), m);
    }

    #[test]
    fn old_challenge_round_trip(version: u16, flags: u32, challenge: u32, name in latin1_name()) {
        let m = OldChallenge { version, flags, challenge, name };
        let body = framed(|o| m.encode(o).unwrap());
        prop_assert_eq!(OldChallenge::decode(&body).unwrap(), m);
    }

    #[test]
    fn complement_round_trip(flags_high: u32, creation: u32) {
        let m = Complement { flags_high, creation };
        let body = framed(|o| m.encode(o).unwrap());
        prop_assert_eq!(body.len(), 9);
        prop_assert_eq!(Complement::decode(&body).unwrap(), m);
    }

    #[test]
    fn reply_round_trip(challenge: u32, digest: [u8; 16]) {
        let m = ChallengeReply { challenge, digest };
        let body = framed(|o| m.encode(o).unwrap());
        prop_assert_eq!(body.len(), 21);
        prop_assert_eq!(ChallengeReply::decode(&body).unwrap(), m);
    }

    #[test]
    fn ack_round_trip(digest: [u8; 16]) {
        let m = ChallengeAck { digest };
        let body = framed(|o| m.encode(o).unwrap());
        prop_assert_eq!(body.len(), 17);
        prop_assert_eq!(ChallengeAck::decode(&body).unwrap(), m);
    }

    #[test]
    fn decoders_never_panic(body in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = SendName::decode(&body);
        let _ = OldSendName::decode(&body);
        let _ = NameMessage::decode(&body);
        let _ = StatusMessage::decode(&body);
        let _ = Challenge::decode(&body);
        let _ = OldChallenge::decode(&body);
        let _ = Complement::decode(&body);
        let _ = ChallengeReply::decode(&body);
        let _ = ChallengeAck::decode(&body);
    }

    #[test]
    fn arbitrary_bytes_into_every_state(
        junk in proptest::collection::vec(any::<u8>(), 0..200),
        framed_junk in proptest::collection::vec(any::<u8>(), 0..60),
        state in 0usize..7,
    ) {
        // Both raw junk and junk wrapped in a valid 2-byte frame (to reach the parsers).
        let mut wrapped = (framed_junk.len() as u16).to_be_bytes().to_vec();
        wrapped.extend_from_slice(&framed_junk);
        for input in [&junk[..], &wrapped[..]] {
            feed_state(state, input);
        }
    }
}

const F: DistFlags = DistFlags(0x0000_000D_075F_1FBD);

fn icfg() -> InitiatorConfig {
    InitiatorConfig {
        our_name: LocalName::Static("a@h".into()),
        our_creation: 1,
        our_flags: F,
        cookie: Cookie::new("c").unwrap(),
        our_challenge: 3,
        peer_name: "b@h".into(),
        reconnecting: true,
    }
}

fn acceptor() -> Acceptor {
    Acceptor::new(AcceptorConfig {
        our_name: "b@h".into(),
        our_creation: 2,
        our_flags: F,
        cookie: Cookie::new("c").unwrap(),
        our_challenge: 4,
        name_me_random: 5,
        name_me_creation: 6,
    })
    .unwrap()
}

fn frame(enc: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut v = Vec::new();
    enc(&mut v);
    v
}

fn name_msg(old: bool) -> Vec<u8> {
    if old {
        frame(|o| {
            OldSendName {
                version: 5,
                flags: F.bits() as u32,
                name: "a@h".into(),
            }
            .encode(o)
            .unwrap()
        })
    } else {
        frame(|o| {
            SendName {
                flags: F,
                creation: 1,
                name: "a@h".into(),
            }
            .encode(o)
            .unwrap()
        })
    }
}

fn acceptor_after_status(old: bool, status: Status) -> Acceptor {
    let AcceptorNext::NeedStatus(p) = acceptor().handle(&name_msg(old)).unwrap().next else {
        panic!()
    };
    let AcceptorNext::Continue(a) = p.status(status).unwrap().next else {
        panic!()
    };
    a
}

/// Drives a fresh machine to state `state`, feeds `input`; must not panic.
fn feed_state(state: usize, input: &[u8]) {
    match state {
        0 => {
            let (i, _) = Initiator::start(icfg()).unwrap();
            let _ = i.handle(input);
        }
        1 | 2 => {
            let (i, _) = Initiator::start(icfg()).unwrap();
            let status = if state == 1 {
                Status::Ok
            } else {
                Status::Alive
            };
            let st = frame(|o| StatusMessage::Status(status).encode(o).unwrap());
            let InitiatorNext::Continue(i) = i.handle(&st).unwrap().next else {
                panic!()
            };
            let _ = i.handle(input);
            // and in the ack state
            let (i, _) = Initiator::start(icfg()).unwrap();
            let mut msgs = st.clone();
            msgs.extend(frame(|o| {
                Challenge {
                    flags: F,
                    challenge: 9,
                    creation: 2,
                    name: "b@h".into(),
                }
                .encode(o)
                .unwrap()
            }));
            let InitiatorNext::Continue(i) = i.handle(&msgs).unwrap().next else {
                panic!()
            };
            let _ = i.handle(input);
        }
        3 => {
            let _ = acceptor().handle(input);
        }
        4 => {
            let _ = acceptor_after_status(false, Status::Ok).handle(input);
        }
        5 => {
            let _ = acceptor_after_status(false, Status::Alive).handle(input);
        }
        _ => {
            let _ = acceptor_after_status(true, Status::Ok).handle(input);
        }
    }
}

/// A name that cannot be an atom (over 255 characters) is refused before any status
/// or challenge goes out, as OTP refuses it; 255 characters still pass.
#[test]
fn names_longer_than_an_atom_are_refused() {
    let named = |name: String| {
        frame(|o| {
            SendName {
                flags: F,
                creation: 1,
                name,
            }
            .encode(o)
            .unwrap()
        })
    };
    let long = format!("{}@h", "a".repeat(10_000));
    match acceptor().handle(&named(long)) {
        Err(HandshakeError::InvalidNodeName { reason, .. }) => {
            assert!(reason.contains("255"), "{reason}")
        }
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(step) => panic!("accepted, sending {} bytes", step.send.len()),
    }
    let just = format!("{}@h", "a".repeat(253));
    assert!(acceptor().handle(&named(just)).is_ok());
}

/// OTP's `is_node_name` splits on every '@' and wants exactly two non-empty parts, so a
/// name with a second '@' is refused before any status (it was once taken as
/// `Name@"Host@…"`).
#[test]
fn names_with_two_at_signs_are_refused() {
    let named = |name: &str| {
        frame(|o| {
            SendName {
                flags: F,
                creation: 1,
                name: name.to_string(),
            }
            .encode(o)
            .unwrap()
        })
    };
    for bad in ["a@b@c", "a@@c", "a@b@", "@a@b"] {
        match acceptor().handle(&named(bad)) {
            Err(HandshakeError::InvalidNodeName { .. }) => {}
            Err(e) => panic!("{bad}: refused for another reason: {e}"),
            Ok(step) => panic!("{bad}: accepted, sending {} bytes", step.send.len()),
        }
    }
    assert!(acceptor().handle(&named("a b\0c@h")).is_ok());
}
