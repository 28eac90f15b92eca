//! The sans-IO EPMD registry (docs/protocol.md §1.2, §1.3), driven without sockets.

use beamnode::proto::epmd::*;

fn alive2(name: &str, port: u16, highest: u16) -> Vec<u8> {
    let mut info = NodeInfo::otp(name, port);
    info.highest_version = highest;
    EpmdRequest::Alive2(info).encode().unwrap()[2..].to_vec()
}

const NOW: u64 = 1_795_567_289;

#[test]
fn new_name_creation_comes_from_the_clock() {
    let mut reg = EpmdRegistry::new(4369);
    let out = reg
        .handle_frame(1, true, &alive2("a", 100, 6), NOW)
        .unwrap();
    assert!(out.keep_open);
    let (resp, _) = Alive2Resp::decode(&out.reply).unwrap().unwrap();
    assert_eq!(
        resp,
        Alive2Resp::Extended {
            result: 0,
            creation: NOW as u32 + 1
        }
    );
    // A clock near zero still yields at least 4.
    let out = reg.handle_frame(2, true, &alive2("b", 101, 6), 0).unwrap();
    assert_eq!(
        Alive2Resp::decode(&out.reply)
            .unwrap()
            .unwrap()
            .0
            .creation(),
        4
    );
}

#[test]
fn reregistering_a_remembered_name_bumps_creation() {
    let mut reg = EpmdRegistry::new(4369);
    reg.handle_frame(1, true, &alive2("a", 100, 6), NOW)
        .unwrap();
    assert_eq!(reg.connection_closed(1).unwrap().name, "a");
    assert_eq!(reg.unused_count(), 1);
    // A later clock does not matter: the remembered counter is bumped.
    let out = reg
        .handle_frame(2, true, &alive2("a", 100, 6), NOW + 500)
        .unwrap();
    assert_eq!(
        Alive2Resp::decode(&out.reply)
            .unwrap()
            .unwrap()
            .0
            .creation(),
        NOW as u32 + 2
    );
    assert_eq!(reg.unused_count(), 0);
}

#[test]
fn old_nodes_get_a_16_bit_creation_1_to_3() {
    let mut reg = EpmdRegistry::new(4369);
    let out = reg
        .handle_frame(1, true, &alive2("old", 100, 5), NOW)
        .unwrap();
    let (resp, used) = Alive2Resp::decode(&out.reply).unwrap().unwrap();
    assert_eq!(used, 4);
    assert_eq!(
        resp,
        Alive2Resp::Old {
            result: 0,
            creation: ((NOW as u32 + 1) % 3 + 1) as u16
        }
    );
}

#[test]
fn duplicate_name_is_refused_with_creation_99() {
    let mut reg = EpmdRegistry::new(4369);
    reg.handle_frame(1, true, &alive2("a", 100, 6), NOW)
        .unwrap();
    let out = reg
        .handle_frame(2, true, &alive2("a", 200, 6), NOW)
        .unwrap();
    assert_eq!(out.reply, vec![118, 1, 0, 0, 0, 99]);
    assert_eq!(reg.lookup("a").unwrap().port, 100);
    let out = reg
        .handle_frame(3, true, &alive2("a", 200, 0), NOW)
        .unwrap();
    assert_eq!(out.reply, vec![121, 1, 0, 99]);
    // Closing a refused connection leaves the real registration alone.
    assert!(reg.connection_closed(2).is_none());
    assert_eq!(reg.registered_count(), 1);
}

#[test]
fn invalid_alive2_name_gets_a_refusal_not_silence() {
    let mut reg = EpmdRegistry::new(4369);
    let mut body = alive2("a", 1, 6);
    body[11] = 0xff; // the name byte: not UTF-8
    let out = reg.handle_frame(1, true, &body, NOW).unwrap();
    assert_eq!(out.reply, vec![118, 1, 0, 0, 0, 99]);
    // A NUL in the name is a structural error: EPMD closes without a reply.
    body[11] = 0;
    assert!(reg.handle_frame(1, true, &body, NOW).is_err());
}

#[test]
fn local_only_requests_are_ignored_from_remote_peers() {
    let mut reg = EpmdRegistry::new(4369);
    for body in [alive2("a", 1, 6), vec![100], vec![107], vec![115, b'a']] {
        let out = reg.handle_frame(1, false, &body, NOW).unwrap();
        assert_eq!(out, Outcome::default());
    }
    assert_eq!(reg.registered_count(), 0);
    reg.handle_frame(2, true, &alive2("a", 7, 6), NOW).unwrap();
    // PORT_PLEASE2 and NAMES are for anyone.
    let out = reg.handle_frame(3, false, b"za", NOW).unwrap();
    assert_eq!(
        Port2Resp::decode(&out.reply).unwrap().unwrap().0,
        Port2Resp::Found(NodeInfo::otp("a", 7))
    );
    assert!(!out.keep_open);
    let out = reg.handle_frame(3, false, b"n", NOW).unwrap();
    assert_eq!(
        NamesResp::decode(&out.reply).unwrap(),
        NamesResp {
            epmd_port: 4369,
            nodes: vec![("a".into(), 7)]
        }
    );
    let out = reg.handle_frame(3, false, b"zb", NOW).unwrap();
    assert_eq!(out.reply, vec![119, 1]);
}

#[test]
fn dump_lists_active_and_unused() {
    let mut reg = EpmdRegistry::new(4369);
    reg.handle_frame(1, true, &alive2("a", 7, 6), NOW).unwrap();
    reg.handle_frame(2, true, &alive2("b", 8, 6), NOW).unwrap();
    reg.connection_closed(2);
    let out = reg.handle_frame(3, true, b"d", NOW).unwrap();
    let dump = DumpResp::decode(&out.reply).unwrap();
    assert_eq!(
        dump.active,
        vec![DumpEntry {
            name: "a".into(),
            port: 7,
            fd: 1
        }]
    );
    assert_eq!(
        dump.unused,
        vec![DumpEntry {
            name: "b".into(),
            port: 8,
            fd: 2
        }]
    );
}

#[test]
fn kill_and_stop_follow_the_command_check() {
    let mut reg = EpmdRegistry::new(4369);
    reg.handle_frame(1, true, &alive2("a", 7, 6), NOW).unwrap();
    let out = reg.handle_frame(2, true, b"k", NOW).unwrap();
    assert_eq!((out.reply.as_slice(), out.stop_server), (&b"NO"[..], false));
    assert_eq!(
        reg.handle_frame(2, true, b"sa", NOW).unwrap(),
        Outcome::default()
    );

    let mut reg = EpmdRegistry::new(4369).with_relaxed_command_check(true);
    reg.handle_frame(1, true, &alive2("a", 7, 6), NOW).unwrap();
    let out = reg.handle_frame(2, true, b"sa", NOW).unwrap();
    assert_eq!(out.reply, b"STOPPED");
    assert_eq!(out.close_connection, Some(1));
    assert!(reg.lookup("a").is_none());
    let out = reg.handle_frame(2, true, b"sa", NOW).unwrap();
    assert_eq!(out.reply, b"NOEXIST");
    reg.handle_frame(3, true, &alive2("c", 7, 6), NOW).unwrap();
    let out = reg.handle_frame(2, true, b"k", NOW).unwrap();
    assert_eq!((out.reply.as_slice(), out.stop_server), (&b"OK"[..], true));

    let mut empty = EpmdRegistry::new(4369);
    assert!(empty.handle_frame(1, true, b"k", NOW).unwrap().stop_server);
}

#[test]
fn unused_names_are_capped() {
    let mut reg = EpmdRegistry::new(4369).with_max_unused(3);
    for i in 0..5u64 {
        reg.handle_frame(i, true, &alive2(&format!("n{i}"), 1, 6), NOW)
            .unwrap();
        reg.connection_closed(i);
    }
    assert_eq!(reg.unused_count(), 3);
    // n0 was forgotten: it gets a fresh clock-based creation again.
    let out = reg
        .handle_frame(9, true, &alive2("n0", 1, 6), NOW + 10)
        .unwrap();
    assert_eq!(
        Alive2Resp::decode(&out.reply)
            .unwrap()
            .unwrap()
            .0
            .creation(),
        NOW as u32 + 11
    );
    assert_eq!(DEFAULT_MAX_UNUSED_NAMES, 1000);
}

#[test]
fn garbage_is_an_error() {
    let mut reg = EpmdRegistry::new(4369);
    assert!(matches!(
        reg.handle_frame(1, true, &[0xee], NOW),
        Err(EpmdError::UnknownRequest(0xee))
    ));
    assert!(reg.handle_frame(1, true, &[], NOW).is_err());
    assert!(reg.handle_frame(1, true, &[120, 0], NOW).is_err());
}

#[test]
fn registrations_past_max_names_are_refused_until_one_leaves() {
    let mut reg = EpmdRegistry::new(4369).with_max_names(2);
    for (conn, name) in [(1, "a"), (2, "b")] {
        let out = reg
            .handle_frame(conn, true, &alive2(name, 100, 6), NOW)
            .unwrap();
        assert_eq!(out.reply[1], 0, "{name} registered");
    }
    let out = reg
        .handle_frame(3, true, &alive2("c", 300, 6), NOW)
        .unwrap();
    assert_eq!(out.reply, vec![118, 1, 0, 0, 0, 99]);
    assert!(reg.lookup("c").is_none());
    assert_eq!(reg.registered_count(), 2);
    // A lookup still works, and a freed place is taken.
    assert!(reg.lookup("a").is_some());
    assert!(reg.connection_closed(1).is_some());
    let out = reg
        .handle_frame(4, true, &alive2("c", 300, 6), NOW)
        .unwrap();
    assert_eq!(out.reply[1], 0);
    assert_eq!(reg.lookup("c").unwrap().port, 300);
}
