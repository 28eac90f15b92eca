//! Control messages (§5.1): to_term/from_term round trips of every variant, OTP's
//! receive validation, and the sender-node check.

use crate::wire_strategies::{self, control_message};
use beamnode::proto::control::{op, ControlError, ControlMessage, Destination, ProcRef};
use beamnode::{Atom, Pid, Reference, Term};
use num_bigint::BigInt;
use proptest::prelude::*;

fn pid(node: &str, id: u32) -> Pid {
    Pid::new(Atom::new(node), id, 0, 1)
}
fn reference() -> Reference {
    Reference {
        node: Atom::new("a@h"),
        creation: 1,
        ids: vec![1, 2, 3],
    }
}
fn t(elems: Vec<Term>) -> Term {
    Term::tuple(elems)
}
fn p(id: u32) -> Term {
    Term::Pid(pid("a@h", id))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn to_term_from_term_round_trip(msg in control_message()) {
        let term = msg.to_term();
        // The op code on the wire is element 1 and matches op().
        let elems = term.as_tuple().unwrap();
        prop_assert_eq!(elems[0].clone(), Term::Int(i64::from(msg.op())));
        let back = ControlMessage::from_term(term).unwrap();
        prop_assert_eq!(back, msg);
    }

    #[test]
    fn from_term_never_panics_on_arbitrary_tuples(
        op in -3i64..45,
        elems in proptest::collection::vec(wire_strategies::term(), 0..8),
    ) {
        let mut v = vec![Term::Int(op)];
        v.extend(elems);
        let _ = ControlMessage::from_term(Term::tuple(v));
    }
}

#[test]
fn tt_variants_pick_tt_op_codes() {
    let tok = Some(Term::atom("token"));
    let cases = [
        (
            ControlMessage::Send {
                to: pid("a@h", 1),
                token: tok.clone(),
            },
            op::SEND_TT,
        ),
        (
            ControlMessage::Exit {
                from: pid("a@h", 1),
                to: pid("b@h", 2),
                reason: Term::atom("r"),
                token: tok.clone(),
            },
            op::EXIT_TT,
        ),
        (
            ControlMessage::RegSend {
                from: pid("a@h", 1),
                to_name: Atom::new("x"),
                token: tok.clone(),
            },
            op::REG_SEND_TT,
        ),
        (
            ControlMessage::Exit2 {
                from: pid("a@h", 1),
                to: pid("b@h", 2),
                reason: Term::atom("r"),
                token: tok.clone(),
            },
            op::EXIT2_TT,
        ),
        (
            ControlMessage::SendSender {
                from: pid("a@h", 1),
                to: pid("b@h", 2),
                token: tok.clone(),
            },
            op::SEND_SENDER_TT,
        ),
        (
            ControlMessage::PayloadExit {
                from: pid("a@h", 1),
                to: pid("b@h", 2),
                token: tok.clone(),
            },
            op::PAYLOAD_EXIT_TT,
        ),
        (
            ControlMessage::PayloadExit2 {
                from: pid("a@h", 1),
                to: pid("b@h", 2),
                token: tok.clone(),
            },
            op::PAYLOAD_EXIT2_TT,
        ),
        (
            ControlMessage::AliasSend {
                from: pid("a@h", 1),
                alias: reference(),
                token: tok.clone(),
            },
            op::ALIAS_SEND_TT,
        ),
    ];
    for (msg, code) in cases {
        assert_eq!(msg.op(), code, "{msg:?}");
    }
}

#[test]
fn exit_tt_token_precedes_reason() {
    let msg = ControlMessage::Exit {
        from: pid("a@h", 1),
        to: pid("b@h", 2),
        reason: Term::atom("reason"),
        token: Some(Term::atom("token")),
    };
    assert_eq!(
        msg.to_term(),
        t(vec![
            Term::Int(13),
            p(1),
            Term::Pid(pid("b@h", 2)),
            Term::atom("token"),
            Term::atom("reason")
        ])
    );
}

#[test]
fn altact_token_bit_follows_token() {
    let msg = ControlMessage::AltactSigSend {
        flags: 0,
        from: pid("a@h", 1),
        to: Term::Ref(reference()),
        token: Some(Term::Int(7)),
    };
    // ALIAS flag missing → the `to` ref is rejected when read back.
    let term = msg.to_term();
    assert_eq!(term.as_tuple().unwrap()[1], Term::Int(2));
    assert!(matches!(
        ControlMessage::from_term(term),
        Err(ControlError::BadElement { index: 4, .. })
    ));
}

#[test]
fn rejects_malformed_control_tuples() {
    use ControlError::*;
    type Case = (Term, fn(&ControlError) -> bool);
    let cases: Vec<Case> = vec![
        (Term::atom("x"), |e| matches!(e, NotATuple)),
        (t(vec![]), |e| matches!(e, EmptyTuple)),
        (t(vec![Term::atom("link"), p(1), p(2)]), |e| {
            matches!(e, OpNotInteger)
        }),
        (t(vec![Term::BigInt(BigInt::from(1) << 70), p(1)]), |e| {
            matches!(e, OpNotInteger)
        }),
        (t(vec![Term::Int(9), p(1), p(2)]), |e| {
            matches!(e, UnknownOp { op: 9 })
        }),
        (t(vec![Term::Int(-1)]), |e| {
            matches!(e, UnknownOp { op: -1 })
        }),
        (t(vec![Term::Int(300)]), |e| {
            matches!(e, UnknownOp { op: 300 })
        }),
        (t(vec![Term::Int(38), p(1)]), |e| {
            matches!(e, UnknownOp { op: 38 })
        }),
        (t(vec![Term::Int(5)]), |e| {
            matches!(
                e,
                ObsoleteOp {
                    op: 5,
                    name: "NODE_LINK"
                }
            )
        }),
        (t(vec![Term::Int(1), p(1)]), |e| {
            matches!(
                e,
                BadArity {
                    op: 1,
                    arity: 2,
                    expected: 3,
                    ..
                }
            )
        }),
        (t(vec![Term::Int(1), p(1), Term::atom("x")]), |e| {
            matches!(
                e,
                BadElement {
                    op: 1,
                    index: 3,
                    ..
                }
            )
        }),
        (t(vec![Term::Int(35), Term::Int(0), p(1), p(2)]), |e| {
            matches!(e, ZeroUnlinkId)
        }),
        (t(vec![Term::Int(35), Term::Int(-4), p(1), p(2)]), |e| {
            matches!(e, BadElement { index: 2, .. })
        }),
        (t(vec![Term::Int(6), p(1), Term::atom(""), p(2)]), |e| {
            matches!(e, BadElement { index: 4, .. })
        }),
        (
            t(vec![Term::Int(2), Term::atom(""), Term::atom("name")]),
            |e| matches!(e, BadElement { index: 3, .. }),
        ),
        (
            t(vec![
                Term::Int(19),
                p(1),
                Term::Int(3),
                Term::Ref(reference()),
            ]),
            |e| matches!(e, BadElement { index: 3, .. }),
        ),
        (
            t(vec![
                Term::Int(29),
                Term::Ref(reference()),
                p(1),
                p(2),
                t(vec![Term::atom("m"), Term::atom("f"), Term::Int(1)]),
                Term::atom("notalist"),
            ]),
            |e| matches!(e, BadElement { index: 6, .. }),
        ),
        (
            t(vec![
                Term::Int(29),
                Term::Ref(reference()),
                p(1),
                p(2),
                t(vec![Term::atom("m"), Term::Int(1), Term::Int(1)]),
                Term::Nil,
            ]),
            |e| matches!(e, BadElement { index: 5, .. }),
        ),
        (
            t(vec![
                Term::Int(31),
                Term::Ref(reference()),
                p(1),
                Term::Int(1 << 27),
                p(2),
            ]),
            |e| matches!(e, BadElement { index: 4, .. }),
        ),
        (
            t(vec![
                Term::Int(31),
                Term::Ref(reference()),
                p(1),
                Term::Int(0),
                Term::Int(5),
            ]),
            |e| matches!(e, BadElement { index: 5, .. }),
        ),
        (
            t(vec![Term::Int(37), Term::Int(4 | 8), p(1), Term::atom("x")]),
            |e| matches!(e, BadAltactFlags { .. }),
        ),
        (t(vec![Term::Int(37), Term::Int(2), p(1), p(2)]), |e| {
            matches!(e, BadArity { expected: 5, .. })
        }),
        (t(vec![Term::Int(37), Term::Int(-1), p(1), p(2)]), |e| {
            matches!(e, BadElement { index: 2, .. })
        }),
        (t(vec![Term::Int(37)]), |e| matches!(e, BadArity { .. })),
    ];
    for (term, ok) in cases {
        let err = ControlMessage::from_term(term.clone()).expect_err(&format!("{term:?} accepted"));
        assert!(ok(&err), "{term:?} gave {err:?}");
    }
}

#[test]
fn accepts_otp_shapes() {
    // SEND's unused element is not checked by OTP.
    let m = ControlMessage::from_term(t(vec![Term::Int(2), Term::atom(""), p(3)])).unwrap();
    assert_eq!(
        m,
        ControlMessage::Send {
            to: pid("a@h", 3),
            token: None
        }
    );
    // UNLINK_ID ids up to 2^64-1 travel as bignums.
    let m = ControlMessage::from_term(t(vec![
        Term::Int(35),
        Term::BigInt(BigInt::from(u64::MAX)),
        p(1),
        p(2),
    ]))
    .unwrap();
    assert!(matches!(m, ControlMessage::UnlinkId { id: u64::MAX, .. }));
    assert_eq!(
        m.to_term().as_tuple().unwrap()[1],
        Term::BigInt(BigInt::from(u64::MAX))
    );
    // MONITOR_P_EXIT by name.
    let m = ControlMessage::from_term(t(vec![
        Term::Int(21),
        Term::atom("kv"),
        p(1),
        Term::Ref(reference()),
        Term::atom("noproc"),
    ]))
    .unwrap();
    assert!(matches!(
        m,
        ControlMessage::MonitorPExit {
            from: ProcRef::Name(_),
            ..
        }
    ));
    assert!(!m.has_payload());
}

#[test]
fn check_origin_requires_peer_pids() {
    let peer = Atom::new("a@h");
    let local = pid("me@h", 1);
    let ok = ControlMessage::Link {
        from: pid("a@h", 1),
        to: local.clone(),
    };
    ok.check_origin(&peer).unwrap();
    let relayed = [
        ControlMessage::Link {
            from: pid("c@h", 1),
            to: local.clone(),
        },
        ControlMessage::UnlinkId {
            id: 1,
            from: pid("c@h", 1),
            to: local.clone(),
        },
        ControlMessage::UnlinkIdAck {
            id: 1,
            from: pid("c@h", 1),
            to: local.clone(),
        },
        ControlMessage::MonitorP {
            from: pid("c@h", 1),
            to: ProcRef::Name(Atom::new("x")),
            reference: reference(),
        },
        ControlMessage::DemonitorP {
            from: pid("c@h", 1),
            to: ProcRef::Pid(local.clone()),
            reference: reference(),
        },
        ControlMessage::Exit {
            from: pid("c@h", 1),
            to: local.clone(),
            reason: Term::Nil,
            token: None,
        },
        ControlMessage::Exit2 {
            from: pid("c@h", 1),
            to: local.clone(),
            reason: Term::Nil,
            token: None,
        },
        ControlMessage::PayloadExit {
            from: pid("c@h", 1),
            to: local.clone(),
            token: None,
        },
        ControlMessage::PayloadExit2 {
            from: pid("c@h", 1),
            to: local.clone(),
            token: None,
        },
    ];
    for m in relayed {
        assert!(
            matches!(
                m.check_origin(&peer),
                Err(ControlError::ForeignOrigin { .. })
            ),
            "{m:?}"
        );
    }
    // REG_SEND may carry any pid as sender.
    ControlMessage::RegSend {
        from: pid("c@h", 1),
        to_name: Atom::new("x"),
        token: None,
    }
    .check_origin(&peer)
    .unwrap();
}

#[test]
fn check_destination_local_stale_foreign() {
    let me = Atom::new("me@h");
    let exit = |to: Pid| ControlMessage::PayloadExit {
        from: pid("a@h", 1),
        to,
        token: None,
    };
    let local = Pid::new(me.clone(), 5, 0, 42);
    let stale = Pid::new(me.clone(), 5, 0, 41);
    assert_eq!(
        exit(local).check_destination(&me, 42),
        Ok(Destination::Local)
    );
    assert_eq!(
        exit(stale).check_destination(&me, 42),
        Ok(Destination::StaleIncarnation)
    );
    assert!(matches!(
        exit(pid("c@h", 1)).check_destination(&me, 42),
        Err(ControlError::ForeignDestination { op: 24, .. })
    ));
    // SEND to a foreign pid is the node layer's business (dropped), not a protocol error.
    let send = ControlMessage::Send {
        to: pid("c@h", 1),
        token: None,
    };
    assert_eq!(send.check_destination(&me, 42), Ok(Destination::Local));
}
