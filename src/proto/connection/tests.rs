//! Bytes in, bytes out: two connections wired back to back with made-up time.

use super::*;
use crate::term::Pid;
use proptest::prelude::*;

/// Every byte due, in order (large binaries come as pieces of their own, §4.6).
fn due(c: &Connection) -> Vec<u8> {
    let mut bufs = vec![std::io::IoSlice::new(&[]); 1024];
    let n = c.poll_transmit_vectored(&mut bufs);
    assert!(n < bufs.len(), "more pieces than the helper takes");
    let wire: Vec<u8> = bufs[..n].iter().flat_map(|b| b.iter().copied()).collect();
    assert_eq!(wire.len(), c.transmit_len());
    wire
}

fn ends(local: &str, peer: &str, flags: DistFlags) -> Endpoints {
    Endpoints {
        local: Atom::new(local),
        local_creation: 7,
        peer: Atom::new(peer),
        flags,
        visible: true,
    }
}

/// `a@h` and `b@h` connected with `flags`, at `now`.
fn pair(flags: DistFlags, now: Instant) -> (Connection, Connection) {
    let cfg = ConnectionConfig::default();
    (
        Connection::new(ends("a@h", "b@h", flags), &cfg, &[], now),
        Connection::new(ends("b@h", "a@h", flags), &cfg, &[], now),
    )
}

/// Moves everything `from` has to write into `to`, `chunk` bytes at a time.
fn pump(from: &mut Connection, to: &mut Connection, chunk: usize) {
    while from.transmit_len() > 0 {
        let n = from.poll_transmit().len().min(chunk.max(1));
        let bytes = from.poll_transmit()[..n].to_vec();
        from.transmitted(n);
        to.handle_input(&bytes);
    }
}

fn drain(c: &mut Connection) -> Vec<DistMessage> {
    let mut v = Vec::new();
    while let Some(m) = c.poll_message().expect("valid input") {
        v.push(m);
    }
    v
}

/// `n` bytes that differ from position to position and from message to message, so
/// that a shifted, swapped or zeroed piece shows.
fn pattern(i: usize, n: usize) -> Vec<u8> {
    (0..n).map(|k| (k * 31 + i * 7 + 1) as u8).collect()
}

fn pid(node: &str, id: u32) -> Pid {
    Pid::new(Atom::new(node), id, 0, 7)
}

fn send_sender(from: Pid, to: Pid) -> ControlMessage {
    ControlMessage::SendSender {
        from,
        to,
        token: None,
    }
}

#[test]
fn messages_cross_in_order_in_every_framing_mode() {
    let now = Instant::now();
    for flags in [
        DistFlags::IMPLEMENTED,
        DistFlags::REQUIRED, // no atom cache, no fragments: pass-through
    ] {
        let (mut a, mut b) = pair(flags, now);
        for i in 0..50u32 {
            let msg = Term::tuple(vec![Term::atom("seq"), Term::from(i as i64)]);
            a.send_term(&send_sender(pid("a@h", 1), pid("b@h", 2)), Some(&msg))
                .unwrap();
        }
        pump(&mut a, &mut b, 7);
        let got = drain(&mut b);
        assert_eq!(got.len(), 50);
        for (i, m) in got.iter().enumerate() {
            assert_eq!(
                m.payload,
                Some(Term::tuple(vec![Term::atom("seq"), Term::from(i as i64)]))
            );
        }
    }
}

#[test]
fn large_messages_are_fragmented_and_reassembled() {
    let (mut a, mut b) = pair(DistFlags::IMPLEMENTED, Instant::now());
    let big = Term::binary(vec![9u8; 300_000]);
    a.send_term(&send_sender(pid("a@h", 1), pid("b@h", 2)), Some(&big))
        .unwrap();
    let frames = a.transmit_len();
    assert!(frames > 300_000);
    pump(&mut a, &mut b, 65_536);
    let got = drain(&mut b);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].payload.as_ref(), Some(&big));
}

#[test]
fn send_sender_goes_as_send_to_a_peer_without_it() {
    let flags = DistFlags(DistFlags::IMPLEMENTED.bits() & !DistFlags::SEND_SENDER.bits());
    let (mut a, mut b) = pair(flags, Instant::now());
    a.send_term(
        &send_sender(pid("a@h", 1), pid("b@h", 2)),
        Some(&Term::atom("x")),
    )
    .unwrap();
    pump(&mut a, &mut b, 1000);
    let got = drain(&mut b);
    assert!(matches!(got[0].control, ControlMessage::Send { .. }));
}

#[test]
fn alias_messages_go_as_altact_sig_send_to_peers_that_have_it() {
    let alias = crate::term::Reference {
        node: Atom::new("b@h"),
        creation: 7,
        ids: vec![1, 2, 3],
    };
    let send = ControlMessage::AliasSend {
        from: pid("a@h", 1),
        alias: alias.clone(),
        token: None,
    };
    let old = DistFlags(DistFlags::IMPLEMENTED.bits() & !DistFlags::ALTACT_SIG.bits());
    for (flags, altact) in [(DistFlags::IMPLEMENTED, true), (old, false)] {
        let (mut a, mut b) = pair(flags, Instant::now());
        a.send_term(&send, Some(&Term::atom("hi"))).unwrap();
        pump(&mut a, &mut b, 1000);
        let got = drain(&mut b);
        match &got[0].control {
            ControlMessage::AltactSigSend { flags, to, .. } => {
                assert!(altact);
                assert_eq!(*flags, crate::proto::control::altact::ALIAS);
                assert_eq!(to, &Term::Ref(alias.clone()));
            }
            ControlMessage::AliasSend { .. } => assert!(!altact),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_signal_from_a_third_node_ends_the_connection() {
    let (mut a, mut b) = pair(DistFlags::IMPLEMENTED, Instant::now());
    let link = ControlMessage::Link {
        from: pid("c@h", 1),
        to: pid("b@h", 2),
    };
    a.send_term(&link, None).unwrap();
    pump(&mut a, &mut b, 1000);
    let err = b.poll_message().unwrap_err();
    assert!(matches!(err, ConnectionError::Control(_)), "{err}");
    assert_eq!(err.nodedown_reason(), "connection_closed");
}

#[test]
fn signals_to_an_old_incarnation_are_dropped_except_link() {
    let (mut a, mut b) = pair(DistFlags::IMPLEMENTED, Instant::now());
    let old = Pid::new(Atom::new("b@h"), 2, 0, 6);
    a.send_term(
        &ControlMessage::Exit2 {
            from: pid("a@h", 1),
            to: old.clone(),
            token: None,
            reason: Term::atom("kill"),
        },
        None,
    )
    .unwrap();
    a.send_term(
        &ControlMessage::Link {
            from: pid("a@h", 1),
            to: old,
        },
        None,
    )
    .unwrap();
    pump(&mut a, &mut b, 1000);
    let got = drain(&mut b);
    assert_eq!(got.len(), 1);
    assert!(matches!(got[0].control, ControlMessage::Link { .. }));
}

#[test]
fn garbage_and_oversized_frames_end_the_connection() {
    let (_, mut b) = pair(DistFlags::IMPLEMENTED, Instant::now());
    b.handle_input(&[0, 0, 0, 3, 1, 2, 3]);
    assert!(matches!(
        b.poll_message(),
        Err(ConnectionError::Dist(DistError::UnknownPayloadStart {
            byte: 1
        }))
    ));
    let cfg = ConnectionConfig {
        max_frame_size: 100,
        ..ConnectionConfig::default()
    };
    let mut c = Connection::new(
        ends("b@h", "a@h", DistFlags::IMPLEMENTED),
        &cfg,
        &[0, 0, 0, 101],
        Instant::now(),
    );
    assert!(matches!(
        c.poll_message(),
        Err(ConnectionError::Frame(FrameError::TooLarge {
            len: 101,
            max: 100
        }))
    ));
}

#[test]
fn a_quiet_connection_ticks_and_a_silent_peer_times_out() {
    let t0 = Instant::now();
    let (mut a, mut b) = pair(DistFlags::IMPLEMENTED, t0);
    let period = ConnectionConfig::default().tick_period();
    assert_eq!(a.poll_timeout(), t0 + period);
    // Too early: nothing happens.
    a.handle_timeout(t0 + period / 2).unwrap();
    assert_eq!(a.transmit_len(), 0);
    // Both quiet: each sends a tick whenever it wrote nothing in the last interval
    // (the tick itself counts), which keeps the other alive.
    let mut now = t0;
    for i in 0..10 {
        now += period;
        a.handle_timeout(now).unwrap();
        b.handle_timeout(now).unwrap();
        let expect: &[u8] = if i % 2 == 0 { &TICK } else { &[] };
        assert_eq!(a.poll_transmit(), expect);
        pump(&mut a, &mut b, 4);
        pump(&mut b, &mut a, 4);
        assert!(drain(&mut a).is_empty());
    }
    // b goes silent: a gives up after `intensity` intervals without input.
    let mut ended = None;
    for i in 1..=4 {
        now += period;
        match a.handle_timeout(now) {
            Ok(()) => a.transmitted(a.transmit_len()),
            Err(e) => {
                ended = Some((i, e));
                break;
            }
        }
    }
    let (i, e) = ended.expect("timed out");
    assert_eq!(i, 4);
    assert_eq!(e, ConnectionError::TickTimeout);
    assert_eq!(e.nodedown_reason(), "net_tick_timeout");
}

#[test]
fn a_busy_connection_sends_no_ticks() {
    let t0 = Instant::now();
    let (mut a, mut b) = pair(DistFlags::IMPLEMENTED, t0);
    let period = ConnectionConfig::default().tick_period();
    let mut now = t0;
    for _ in 0..10 {
        a.send_term(
            &send_sender(pid("a@h", 1), pid("b@h", 2)),
            Some(&Term::atom("x")),
        )
        .unwrap();
        b.send_term(
            &send_sender(pid("b@h", 1), pid("a@h", 2)),
            Some(&Term::atom("y")),
        )
        .unwrap();
        pump(&mut a, &mut b, 1000);
        pump(&mut b, &mut a, 1000);
        now += period;
        a.handle_timeout(now).unwrap();
        assert_eq!(a.transmit_len(), 0, "no tick while data flows");
        assert_eq!(drain(&mut a).len(), 1);
        drain(&mut b);
    }
}

#[test]
fn handshake_leftover_is_the_start_of_the_first_frame() {
    let (mut a, _) = pair(DistFlags::IMPLEMENTED, Instant::now());
    a.send_term(
        &send_sender(pid("a@h", 1), pid("b@h", 2)),
        Some(&Term::atom("first")),
    )
    .unwrap();
    let wire = due(&a);
    let cfg = ConnectionConfig::default();
    let mut b = Connection::new(
        ends("b@h", "a@h", DistFlags::IMPLEMENTED),
        &cfg,
        &wire[..3],
        Instant::now(),
    );
    assert!(b.poll_message().unwrap().is_none());
    b.handle_input(&wire[3..]);
    assert_eq!(
        b.poll_message().unwrap().unwrap().payload,
        Some(Term::atom("first"))
    );
}

#[test]
fn a_tick_time_too_large_for_the_clock_saturates() {
    let cfg = ConnectionConfig {
        net_ticktime: Duration::MAX,
        ..ConnectionConfig::default()
    };
    let now = Instant::now();
    let mut c = Connection::new(ends("b@h", "a@h", DistFlags::IMPLEMENTED), &cfg, &[], now);
    assert!(c.poll_timeout() > now);
    c.handle_timeout(now + Duration::from_secs(3600)).unwrap();
}

proptest! {
    /// However the byte stream is cut, the same messages come out in the same order,
    /// with copied and with direct reads.
    #[test]
    fn any_cut_of_the_stream_gives_the_same_messages(
        sizes in proptest::collection::vec(0usize..200_000, 1..6),
        cuts in proptest::collection::vec(1usize..100_000, 1..20),
        direct in any::<bool>(),
    ) {
        let (mut a, mut b) = pair(DistFlags::IMPLEMENTED, Instant::now());
        for (i, n) in sizes.iter().enumerate() {
            let msg = Term::tuple(vec![Term::from(i as i64), Term::binary(pattern(i, *n))]);
            a.send_term(&send_sender(pid("a@h", 1), pid("b@h", 2)), Some(&msg)).unwrap();
        }
        let wire = due(&a);
        let mut pos = 0;
        let mut k = 0;
        let mut got = Vec::new();
        while pos < wire.len() {
            let n = cuts[k % cuts.len()].min(wire.len() - pos);
            k += 1;
            if direct {
                let r = b.read_with(|buf: &mut [u8]| -> Result<usize, ()> {
                    let n = n.min(buf.len());
                    buf[..n].copy_from_slice(&wire[pos..pos + n]);
                    Ok(n)
                }).unwrap();
                pos += r;
            } else {
                b.handle_input(&wire[pos..pos + n]);
                pos += n;
            }
            got.extend(drain(&mut b));
        }
        prop_assert_eq!(got.len(), sizes.len());
        for (i, m) in got.iter().enumerate() {
            let Some(Term::Tuple(t)) = &m.payload else { panic!("tuple") };
            prop_assert_eq!(&t[0], &Term::from(i as i64));
            prop_assert_eq!(&t[1], &Term::binary(pattern(i, sizes[i])));
        }
        prop_assert_eq!(b.buffered_input(), 0);
    }
}
