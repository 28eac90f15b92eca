//! Byte-vector tests from live OTP 25.2.3 captures (docs/protocol.md §13, §16.4): every
//! term in the captured pass-through frames decodes and re-encodes to the same bytes.

use beamnode::etf::{self, DecodeOptions};
use beamnode::{Atom, Pid, Term};

/// Post-handshake frames (4-byte length, 112 pass-through, then `131 term`s), §16.4.
const FRAMES: &[&str] = &[
    "000000587083680461135877116f74705f766973406c6f63616c686f737400000009000000006b062ed6770a6e65745f6b65726e656c5a000377116f74705f766973406c6f63616c686f73746b062ed60003734b2b6100015ff31528",
    "000000b47083680461065877116f74705f766973406c6f63616c686f737400000009000000006b062ed67700770a6e65745f6b65726e656c83680377092467656e5f63616c6c68025877116f74705f766973406c6f63616c686f737400000009000000006b062ed66c000000017705616c6961735a000377116f74705f766973406c6f63616c686f73746b062ed60003734b2b6100015ff315286802770769735f6175746877116f74705f766973406c6f63616c686f7374",
    "0000008170836803612158770c7079406c6f63616c686f737400000065000000006b062eba5a000377116f74705f766973406c6f63616c686f73746b062ed60003734b2b6100015ff315288368026c000000017705616c6961735a000377116f74705f766973406c6f63616c686f73746b062ed60003734b2b6100015ff315287703796573",
    "000000ca70836806611d5a000377116f74705f766973406c6f63616c686f73746b062ed6000373522b6000015ff315285877116f74705f766973406c6f63616c686f737400000009000000006b062ed65877116f74705f766973406c6f63616c686f737400000047000000006b062ed66803770465727063770c657865637574655f63616c6c61046c0000000177076d6f6e69746f726a836c000000045a000377116f74705f766973406c6f63616c686f73746b062ed6000373512b6000015ff3152877016d7701666b0001016a",
    "0000006970836805611f5a000377116f74705f766973406c6f63616c686f73746b062ed6000373522b6000015ff315285877116f74705f766973406c6f63616c686f737400000009000000006b062ed6610258770c7079406c6f63616c686f737400000067000000006b062eba",
    "000000af70836804611c58770c7079406c6f63616c686f737400000067000000006b062eba5877116f74705f766973406c6f63616c686f737400000009000000006b062ed65a000377116f74705f766973406c6f63616c686f73746b062ed6000373522b6000015ff315288368035a000377116f74705f766973406c6f63616c686f73746b062ed6000373512b6000015ff31528770672657475726e6804770970795f726573756c7477016d7701666b000101",
];

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn captured_frames_round_trip() {
    for hex in FRAMES {
        let frame = unhex(hex);
        let len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        assert_eq!(len, frame.len() - 4);
        assert_eq!(frame[4], 112);
        let mut pos = 5;
        let mut terms = 0;
        while pos < frame.len() {
            assert_eq!(frame[pos], 131);
            let (t, used) = etf::decode_body(&frame[pos + 1..], &DecodeOptions::default()).unwrap();
            let mut again = Vec::new();
            etf::encode_body_into(&t, &mut again).unwrap();
            assert_eq!(again, &frame[pos + 1..pos + 1 + used]);
            pos += 1 + used;
            terms += 1;
        }
        assert!(terms >= 1);
    }
}

#[test]
fn section_13_reg_send_bytes() {
    let ctrl = Term::tuple(vec![
        Term::Int(6),
        Term::Pid(Pid::new(Atom::new("a@h"), 85, 0, 1234)),
        Term::atom(""),
        Term::atom("net_kernel"),
    ]);
    let mut out = vec![112];
    etf::encode_into(&ctrl, &mut out).unwrap();
    etf::encode_into(&Term::atom("hello"), &mut out).unwrap();
    let mut want = vec![
        112, 131, 104, 4, 97, 6, 88, 119, 3, b'a', b'@', b'h', 0, 0, 0, 85, 0, 0, 0, 0, 0, 0, 4,
        210, 119, 0, 119, 10,
    ];
    want.extend_from_slice(b"net_kernel");
    want.extend_from_slice(&[131, 119, 5]);
    want.extend_from_slice(b"hello");
    assert_eq!(out, want);
}
