//! The EPMD request and response decoders (src/proto/epmd/request.rs, response.rs). The
//! first input byte picks the decoder; the rest is its input. What decodes and can be
//! encoded again must decode to the same value.
#![no_main]

use beamnode::proto::epmd::{
    request_frame_len, validate_name, Alive2Resp, DumpResp, EpmdRequest, KillResp, NamesResp,
    Port2Resp, StopResp,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, buf)) = data.split_first() else {
        return;
    };
    match sel % 9 {
        0 => {
            // A request as the server reads it: length prefix, then the body.
            if let Ok(Some(total)) = request_frame_len(buf) {
                assert!(total <= buf.len());
            }
            if let Ok(Some((req, used))) = EpmdRequest::decode(buf) {
                assert!(used <= buf.len());
                request_round_trip(&req);
            }
        }
        1 => {
            let _ = EpmdRequest::alive2_highest_version(buf);
            if let Ok(req) = EpmdRequest::decode_body(buf) {
                let _ = req.code();
                request_round_trip(&req);
            }
        }
        2 => {
            if let Ok(Some((r, used))) = Alive2Resp::decode(buf) {
                let _ = (r.result(), r.creation());
                assert_eq!(r.encode(), &buf[..used]);
            }
        }
        3 => {
            if let Ok(Some((r, used))) = Port2Resp::decode(buf) {
                assert!(used <= buf.len());
                if let Ok(bytes) = r.encode() {
                    let (again, n) = Port2Resp::decode(&bytes).unwrap().unwrap();
                    assert_eq!(n, bytes.len());
                    assert_eq!(again, r);
                }
            }
        }
        4 => {
            if let Ok(r) = NamesResp::decode(buf) {
                // Names holding a newline cannot be listed (as in OTP): only those
                // without one must survive a round trip.
                if r.nodes.iter().all(|(n, _)| !n.contains('\n')) {
                    let again = NamesResp::decode(&r.encode()).unwrap();
                    assert_eq!(again, r);
                }
            }
        }
        5 => {
            if let Ok(r) = DumpResp::decode(buf) {
                let _ = DumpResp::decode(&r.encode()).unwrap();
            }
        }
        6 => {
            if let Ok(r) = KillResp::decode(buf) {
                assert_eq!(KillResp::decode(r.encode()).unwrap(), r);
            }
        }
        7 => {
            if let Ok(r) = StopResp::decode(buf) {
                assert_eq!(StopResp::decode(r.encode()).unwrap(), r);
            }
        }
        _ => {
            let _ = validate_name(buf);
        }
    }
});

fn request_round_trip(req: &EpmdRequest) {
    if let Ok(bytes) = req.encode() {
        let (again, used) = EpmdRequest::decode(&bytes)
            .expect("our encoding decodes")
            .expect("our encoding is complete");
        assert_eq!(used, bytes.len());
        assert_eq!(&again, req);
    }
}
