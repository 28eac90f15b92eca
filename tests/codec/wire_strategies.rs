//! proptest strategies shared by the wire tests: terms the ETF codec round-trips
//! exactly, and every ControlMessage variant with consistent fields.
#![allow(dead_code)]

use beamnode::proto::control::{altact, ControlMessage, ProcRef};
use beamnode::{Atom, Pid, Reference, Term};
use proptest::prelude::*;

pub fn atom() -> impl Strategy<Value = Atom> {
    prop_oneof![
        "[a-z_]{0,12}".prop_map(|s| Atom::new(&s)),
        "\\PC{0,6}".prop_map(|s| Atom::new(&s)),
    ]
}

pub fn node() -> impl Strategy<Value = Atom> {
    "[a-z]{1,6}@[a-z]{1,6}".prop_map(|s| Atom::new(&s))
}

pub fn pid() -> impl Strategy<Value = Pid> {
    (node(), any::<u32>(), any::<u32>(), any::<u32>())
        .prop_map(|(n, id, serial, creation)| Pid::new(n, id, serial, creation))
}

pub fn reference() -> impl Strategy<Value = Reference> {
    (
        node(),
        any::<u32>(),
        proptest::collection::vec(any::<u32>(), 1..=5),
    )
        .prop_map(|(node, creation, ids)| Reference {
            node,
            creation,
            ids,
        })
}

pub fn term() -> impl Strategy<Value = Term> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Term::Int),
        atom().prop_map(Term::Atom),
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(Term::binary),
        pid().prop_map(Term::Pid),
        reference().prop_map(Term::Ref),
        Just(Term::Nil),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Term::tuple),
            proptest::collection::vec(inner, 0..4).prop_map(Term::list),
        ]
    })
}

pub fn token() -> impl Strategy<Value = Option<Term>> {
    proptest::option::of(term())
}

pub fn proc_ref() -> impl Strategy<Value = ProcRef> {
    prop_oneof![pid().prop_map(ProcRef::Pid), atom().prop_map(ProcRef::Name)]
}

/// Every variant, with values OTP's validation accepts.
pub fn control_message() -> impl Strategy<Value = ControlMessage> {
    use ControlMessage as C;
    prop_oneof![
        (pid(), pid()).prop_map(|(from, to)| C::Link { from, to }),
        (pid(), token()).prop_map(|(to, token)| C::Send { to, token }),
        (pid(), pid(), term(), token()).prop_map(|(from, to, reason, token)| C::Exit {
            from,
            to,
            reason,
            token
        }),
        (pid(), pid()).prop_map(|(from, to)| C::Unlink { from, to }),
        (pid(), atom(), token()).prop_map(|(from, to_name, token)| C::RegSend {
            from,
            to_name,
            token
        }),
        (pid(), pid()).prop_map(|(leader, to)| C::GroupLeader { leader, to }),
        (pid(), pid(), term(), token()).prop_map(|(from, to, reason, token)| C::Exit2 {
            from,
            to,
            reason,
            token
        }),
        (pid(), proc_ref(), reference()).prop_map(|(from, to, reference)| C::MonitorP {
            from,
            to,
            reference
        }),
        (pid(), proc_ref(), reference()).prop_map(|(from, to, reference)| C::DemonitorP {
            from,
            to,
            reference
        }),
        (proc_ref(), pid(), reference(), term()).prop_map(|(from, to, reference, reason)| {
            C::MonitorPExit {
                from,
                to,
                reference,
                reason,
            }
        }),
        (pid(), pid(), token()).prop_map(|(from, to, token)| C::SendSender { from, to, token }),
        (pid(), pid(), token()).prop_map(|(from, to, token)| C::PayloadExit { from, to, token }),
        (pid(), pid(), token()).prop_map(|(from, to, token)| C::PayloadExit2 { from, to, token }),
        (proc_ref(), pid(), reference()).prop_map(|(from, to, reference)| C::PayloadMonitorPExit {
            from,
            to,
            reference
        }),
        (
            reference(),
            pid(),
            pid(),
            (atom(), atom(), any::<u32>()),
            proptest::collection::vec(term(), 0..3),
            token()
        )
            .prop_map(
                |(req_id, from, group_leader, (module, function, arity), opts, token)| {
                    C::SpawnRequest {
                        req_id,
                        from,
                        group_leader,
                        module,
                        function,
                        arity,
                        opts: Term::list(opts),
                        token,
                    }
                }
            ),
        (
            reference(),
            pid(),
            0u32..(1 << 27),
            prop_oneof![pid().prop_map(Term::Pid), atom().prop_map(Term::Atom)],
            token()
        )
            .prop_map(|(req_id, to, flags, result, token)| C::SpawnReply {
                req_id,
                to,
                flags,
                result,
                token
            }),
        (pid(), reference(), token()).prop_map(|(from, alias, token)| C::AliasSend {
            from,
            alias,
            token
        }),
        (1u64.., pid(), pid()).prop_map(|(id, from, to)| C::UnlinkId { id, from, to }),
        (1u64.., pid(), pid()).prop_map(|(id, from, to)| C::UnlinkIdAck { id, from, to }),
        altact_sig_send(),
    ]
}

fn altact_sig_send() -> impl Strategy<Value = ControlMessage> {
    let to = prop_oneof![
        pid().prop_map(|p| (0u64, Term::Pid(p))),
        reference().prop_map(|r| (altact::ALIAS, Term::Ref(r))),
        atom().prop_map(|a| (altact::NAME, Term::Atom(a))),
    ];
    (any::<u64>(), pid(), to, token()).prop_map(|(bits, from, (kind, to), token)| {
        let mut flags = bits & !(altact::TOKEN | altact::ALIAS | altact::NAME) | kind;
        if token.is_some() {
            flags |= altact::TOKEN;
        }
        ControlMessage::AltactSigSend {
            flags,
            from,
            to,
            token,
        }
    })
}
