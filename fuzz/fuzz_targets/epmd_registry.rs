//! The EPMD name table (`EpmdRegistry`) driven through its byte-level entry point,
//! `handle_frame`, with connections opening and closing. The first input byte picks the
//! relaxed command check and a small "unused names" limit; each following chunk is one
//! event: its first byte holds the connection (bits 0-2), whether the peer is local
//! (bit 3) and the kind of event (bits 4-7: request body, connection closed, STOP by
//! name); the rest of the chunk is the request body. Every reply must be readable by
//! the matching client decoder.
#![no_main]

#[path = "common.rs"]
mod common;

use beamnode::proto::epmd::{
    code, Alive2Resp, DumpResp, EpmdRegistry, KillResp, NamesResp, Port2Resp, StopResp,
};
use common::Chunks;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let mut reg = EpmdRegistry::new(4369).with_relaxed_command_check(sel & 1 != 0);
    let max_unused = if sel & 2 != 0 { 2 } else { 1000 };
    reg = reg.with_max_unused(max_unused);
    let mut now = 1_700_000_000u64;
    for chunk in Chunks(rest) {
        let Some((&ev, body)) = chunk.split_first() else {
            continue;
        };
        let conn = u64::from(ev & 7);
        let local = ev & 8 != 0;
        now += u64::from(ev >> 4);
        match ev >> 4 {
            0..=11 => {
                let Ok(out) = reg.handle_frame(conn, local, body, now) else {
                    continue;
                };
                if out.reply.is_empty() {
                    continue;
                }
                match body[0] {
                    code::ALIVE2_REQ => {
                        let (_, n) = Alive2Resp::decode(&out.reply).unwrap().unwrap();
                        assert_eq!(n, out.reply.len());
                    }
                    code::PORT_PLEASE2_REQ => {
                        let (_, n) = Port2Resp::decode(&out.reply).unwrap().unwrap();
                        assert_eq!(n, out.reply.len());
                    }
                    code::NAMES_REQ => {
                        NamesResp::decode(&out.reply).unwrap();
                    }
                    code::DUMP_REQ => {
                        DumpResp::decode(&out.reply).unwrap();
                    }
                    code::KILL_REQ => {
                        KillResp::decode(&out.reply).unwrap();
                    }
                    code::STOP_REQ => {
                        StopResp::decode(&out.reply).unwrap();
                    }
                    other => panic!("reply to unknown request {other}"),
                }
            }
            12 | 13 => {
                let _ = reg.connection_closed(conn);
            }
            _ => {
                let _ = reg.unregister_name(&String::from_utf8_lossy(body));
            }
        }
        assert!(reg.unused_count() <= max_unused);
        let _ = reg.registered_count();
        let _ = (reg.names().encode(), reg.dump().encode());
    }
});
