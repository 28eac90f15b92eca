#!/usr/bin/env python3
"""Writes seed inputs for every fuzz target into fuzz/corpus/<target>/.

Sources: the OTP-made ETF files in fixtures/, the OTP 25 wire captures quoted in
tests/codec/etf_captures.rs and tests/codec/wire_frames.rs, the handshake vectors of
tests/codec/handshake_vectors.rs, and a few control tuples / EPMD messages built here by
hand. Seed files are named by content hash, so running this again adds nothing twice.
Input layouts are described at the top of each fuzz_targets/*.rs.
"""

import hashlib
import os
import re
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
MAX_SEED = 4096  # libFuzzer's default -max_len; larger seeds would be cut anyway

counts = {}


def put(target, data):
    data = bytes(data)
    if len(data) > MAX_SEED:
        return
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = "seed-" + hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    counts[target] = counts.get(target, 0) + 1


def unhex(s):
    return bytes.fromhex(re.sub(r"[^0-9a-fA-F]", "", s))


def chunks(*parts):
    """The chunked layout of fuzz_targets/common.rs: u16 BE length, then the bytes."""
    out = b""
    for p in parts:
        out += struct.pack(">H", len(p)) + p
    return out


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


# ---------- a tiny ETF encoder for hand-made terms ----------

def atom(s):
    b = s.encode()
    return bytes([119, len(b)]) + b


def small(i):
    return bytes([97, i])


def tup(*es):
    return bytes([104, len(es)]) + b"".join(es)


def lst(*es):
    if not es:
        return b"\x6a"
    return bytes([108]) + struct.pack(">I", len(es)) + b"".join(es) + b"\x6a"


def pid(node, id_, creation):
    return bytes([88]) + atom(node) + struct.pack(">III", id_, 0, creation)


def ref(node, creation, *ids):
    return bytes([90]) + struct.pack(">H", len(ids)) + atom(node) + struct.pack(">I", creation) + b"".join(
        struct.pack(">I", i) for i in ids
    )


PEER, LOCAL = "otp_vis@localhost", "py@localhost"
PEER_CR, LOCAL_CR = 0x6B062ED6, 0x6B062EBA
FROM = pid(PEER, 9, PEER_CR)
TO = pid(LOCAL, 101, LOCAL_CR)
REF = ref(PEER, PEER_CR, 1, 2, 3)
ALIAS = ref(LOCAL, LOCAL_CR, 4, 5, 6)
TOKEN = tup(small(0), atom("label"), small(1), FROM, small(2))
U = atom("")

# (control term, takes a trailing term)
CONTROLS = [
    (tup(small(1), FROM, TO), False),  # LINK
    (tup(small(2), U, TO), True),  # SEND
    (tup(small(3), FROM, TO, atom("normal")), False),  # EXIT
    (tup(small(4), FROM, TO), False),  # UNLINK
    (tup(small(6), FROM, U, atom("net_kernel")), True),  # REG_SEND
    (tup(small(7), FROM, TO), False),  # GROUP_LEADER
    (tup(small(8), FROM, TO, atom("kill")), False),  # EXIT2
    (tup(small(12), U, TO, TOKEN), True),  # SEND_TT
    (tup(small(13), FROM, TO, TOKEN, atom("normal")), False),  # EXIT_TT
    (tup(small(16), FROM, U, atom("rex"), TOKEN), True),  # REG_SEND_TT
    (tup(small(18), FROM, TO, TOKEN, atom("kill")), False),  # EXIT2_TT
    (tup(small(19), FROM, atom("rex"), REF), False),  # MONITOR_P
    (tup(small(20), FROM, TO, REF), False),  # DEMONITOR_P
    (tup(small(21), FROM, TO, REF, atom("noproc")), False),  # MONITOR_P_EXIT
    (tup(small(22), FROM, TO), True),  # SEND_SENDER
    (tup(small(23), FROM, TO, TOKEN), True),  # SEND_SENDER_TT
    (tup(small(24), FROM, TO), True),  # PAYLOAD_EXIT
    (tup(small(25), FROM, TO, TOKEN), True),  # PAYLOAD_EXIT_TT
    (tup(small(26), FROM, TO), True),  # PAYLOAD_EXIT2
    (tup(small(27), FROM, TO, TOKEN), True),  # PAYLOAD_EXIT2_TT
    (tup(small(28), FROM, TO, REF), True),  # PAYLOAD_MONITOR_P_EXIT
    (tup(small(29), REF, FROM, FROM, tup(atom("m"), atom("f"), small(1)), lst(atom("link"))), True),
    (tup(small(30), REF, FROM, FROM, tup(atom("m"), atom("f"), small(0)), lst(), TOKEN), True),
    (tup(small(31), REF, TO, small(0), FROM), False),  # SPAWN_REPLY
    (tup(small(32), REF, TO, small(1), atom("badarg"), TOKEN), False),  # SPAWN_REPLY_TT
    (tup(small(33), FROM, ALIAS), True),  # ALIAS_SEND
    (tup(small(34), FROM, ALIAS, TOKEN), True),  # ALIAS_SEND_TT
    (tup(small(35), small(7), FROM, TO), False),  # UNLINK_ID
    (tup(small(36), small(7), FROM, TO), False),  # UNLINK_ID_ACK
    (tup(small(37), small(0), FROM, TO), True),  # ALTACT_SIG_SEND to a pid
    (tup(small(37), small(4 | 2), FROM, ALIAS, TOKEN), True),  # ... alias, traced
    (tup(small(37), small(8), FROM, atom("rex")), True),  # ... name
]
MSG = tup(atom("hello"), lst(small(1), small(2)), b"\x6d\x00\x00\x00\x03abc")


def captured_frames():
    """4-byte-framed pass-through frames quoted (as hex) in the wire tests."""
    out = []
    for name in ("etf_captures.rs", "wire_frames.rs"):
        text = open(os.path.join(ROOT, "tests", "codec", name)).read()
        for lit in re.findall(r'"((?:[0-9a-f]|\\\s*|\s)+)"', text):
            digits = re.sub(r"[^0-9a-f]", "", lit)
            if len(digits) < 20 or len(digits) % 2:
                continue
            b = bytes.fromhex(digits)
            if len(b) > 9 and struct.unpack(">I", b[:4])[0] == len(b) - 4 and b[4] == 112:
                out.append(b)
    return out


def pass_through_terms(payload):
    """Splits a pass-through payload (112, then 131-prefixed terms) into term bodies.
    Without an ETF decoder at hand it cuts at each `131 104` (version byte, small
    tuple), which is where every term of these captures starts; a wrong cut only
    makes a weaker seed."""
    body = payload[1:]
    starts = [i for i, b in enumerate(body) if b == 131 and i + 1 < len(body) and body[i + 1] == 104]
    terms = []
    for k, s in enumerate(starts):
        e = starts[k + 1] if k + 1 < len(starts) else len(body)
        terms.append(body[s + 1 : e])
    return terms


def header_payload(*bodies):
    """Header mode with no atom-cache refs: 131 68 0, then terms without 131."""
    return bytes([131, 68, 0]) + b"".join(bodies)


def main():
    frames = captured_frames()
    if not frames:
        sys.exit("seed.py: no captured frames found in tests/")

    # ---- etf: selector byte, then the term (see fuzz_targets/etf.rs)
    fixtures = []
    for sub in ("etf", "etf_records"):
        d = os.path.join(ROOT, "fixtures", sub)
        for n in sorted(os.listdir(d)):
            if n.endswith(".bin"):
                fixtures.append(open(os.path.join(d, n), "rb").read())
    for b in fixtures:
        put("etf", b"\x01" + b)  # decode_with, COMPRESSED allowed
        if len(b) < 200:
            put("etf", b"\x09" + b)  # ... and the compressed round trip
        if b[:1] == b"\x83" and b[1:2] != b"\x50":
            put("etf", b"\x04" + b[1:])  # decode_body
    for f in frames:
        for t in pass_through_terms(f[4:]):
            put("etf", b"\x00" + b"\x83" + t)
            put("etf", b"\x06" + t + b"\x52\x00")  # body, atom cache, a trailing cache ref
    for c, _ in CONTROLS:
        put("etf", b"\x00\x83" + c)

    # ---- control: a standalone term (131 + control tuple)
    for f in frames:
        terms = pass_through_terms(f[4:])
        if terms:
            put("control", b"\x83" + terms[0])
    for c, _ in CONTROLS:
        put("control", b"\x83" + c)

    # ---- dist: flags byte, then chunked payloads
    for f in frames:
        put("dist", b"\x00" + chunks(f[4:]))
        bodies = pass_through_terms(f[4:])
        put("dist", b"\x01" + chunks(header_payload(*bodies)))
    for c, has in CONTROLS:
        body = c + (MSG if has else b"")
        put("dist", b"\x00" + chunks(b"\x70\x83" + c + (b"\x83" + MSG if has else b"")))
        put("dist", b"\x01" + chunks(header_payload(body)))
    # Header with atom-cache refs: REG_SEND to 'rex' where 'rex' is a new cache entry
    # (1 ref: flags byte 0x08 = new entry, segment 0; short atoms), then used as ref 0.
    reg_send = tup(small(6), FROM, U, b"\x52\x00")
    cached = bytes([131, 68, 1, 0x08, 0, 3]) + b"rex" + reg_send + b"\x52\x00"
    reused = bytes([131, 68, 1, 0x00, 0]) + reg_send + MSG
    put("dist", b"\x01" + chunks(cached, reused))
    # Fragments: a REG_SEND whose message comes in 3 fragments, interleaved with a
    # second sequence (flags: atom cache + fragments).
    ctrl = tup(small(6), FROM, U, atom("rex"))
    msg = MSG
    a, b_ = msg[:5], msg[5:12]
    c = msg[12:]

    def start(seq, n, data):
        return bytes([131, 69]) + struct.pack(">QQ", seq, n) + b"\x00" + data

    def cont(seq, n, data):
        return bytes([131, 70]) + struct.pack(">QQ", seq, n) + data

    put("dist", b"\x03" + chunks(start(1, 3, ctrl + a), cont(1, 2, b_), cont(1, 1, c)))
    put(
        "dist",
        b"\x03" + chunks(start(1, 2, ctrl + a), start(2, 2, ctrl + msg[:3]), cont(2, 1, msg[3:]), cont(1, 1, msg[5:])),
    )
    put("dist", b"\x07" + chunks(start(7, 2, ctrl + a), cont(7, 1, msg[5:])))

    # ---- connection: flags byte, leftover chunk, then input chunks
    tick = b"\x00\x00\x00\x00"
    stream = b"".join(frames)
    put("connection", b"\x08" + chunks(b"", *frames, tick))
    put("connection", b"\x08" + chunks(stream[:7], stream[7:]))
    put("connection", b"\x0c" + chunks(tick, *[frame(b"\x70\x83" + c + (b"\x83" + MSG if h else b"")) for c, h in CONTROLS]))
    put("connection", b"\x0b" + chunks(b"", frame(cached[0:]), frame(reused)))
    put("connection", b"\x0b" + chunks(b"", frame(start(1, 2, ctrl + a)), tick, frame(cont(1, 1, msg[5:]))))
    put("connection", b"\x39" + chunks(b"", frame(header_payload(CONTROLS[4][0] + b"\x6b\x08\x00" + b"x" * 2048))))

    # ---- handshakes: vectors A and B of tests/codec/handshake_vectors.rs (OTP 25.2.3)
    ok = unhex("00 03 73 6f 6b")
    challenge = unhex(
        "00 21 4e 00 00 00 0d 07 df 7f bd 1d a2 bd 74 6b 06 2e ac 00 0e 6f 74 70 61 40 6c 6f 63 61 6c 68 6f 73 74"
    )
    ack = unhex("00 11 61 d4 68 f5 d3 4d 72 06 b6 98 14 17 a3 ac 82 30 ba")
    # The frames of the captures come from otp_vis@localhost; vector A's peer is
    # otpa@localhost, so rename the node in them.
    otpa = [
        frame(f[4:].replace(b"\x77\x11otp_vis@localhost", b"\x77\x0eotpa@localhost"))
        for f in frames
    ]
    put("handshake_initiator", b"\x00" + chunks(ok, challenge, ack + otpa[0], *otpa[1:], tick))
    put("handshake_initiator", b"\x00" + chunks(ok + challenge + ack))
    put("handshake_initiator", b"\x01" + chunks(unhex("00 06 73 61 6c 69 76 65"), challenge, ack))
    put("handshake_initiator", b"\x00" + chunks(unhex("00 04 73 6e 6f 6b")))
    named = b"\x73named:" + struct.pack(">H", 12) + b"py@localhost" + struct.pack(">I", 5)
    put("handshake_initiator", b"\x02" + chunks(struct.pack(">H", len(named)) + named, challenge))
    name = unhex(
        "00 20 4e 00 00 00 0d 07 df 7f bd 6b 06 2e d6 00 11 6f 74 70 5f 76 69 73 40 6c 6f 63 61 6c 68 6f 73 74"
    )
    reply = unhex("00 15 72 59 89 92 aa d4 68 f5 d3 4d 72 06 b6 98 14 17 a3 ac 82 30 ba")
    put("handshake_acceptor", b"\x00" + chunks(name, reply, *frames, tick))
    put("handshake_acceptor", b"\x00" + chunks(name + reply + frames[0]))
    put("handshake_acceptor", b"\x04" + chunks(name, unhex("00 05 73 74 72 75 65"), reply))
    old_name = b"\x6e\x00\x05" + struct.pack(">I", 0x075F1FBD) + b"otp_vis@localhost"
    put("handshake_acceptor", b"\x00" + chunks(struct.pack(">H", len(old_name)) + old_name, unhex("00 09 63 00 00 00 0d 6b 06 2e d6"), reply))
    # The same acceptor exchange with TLS distribution's 4-byte lengths (§17.2), then
    # a 4-byte frame; and the 2-byte original.
    def packet4(m):
        return struct.pack(">I", len(m) - 2) + m[2:]
    put("handshake_framing", b"\x00" + chunks(packet4(name), packet4(reply) + frames[0], tick))
    put("handshake_framing", b"\x00" + chunks(packet4(ok)[:3], packet4(ok)[3:] + packet4(challenge)))
    put("handshake_framing", b"\x01" + chunks(name, reply, *frames))
    name_me = b"\x4e" + struct.pack(">QIH", 0x0000000F075F1FBC, 0, 9) + b"localhost"
    put("handshake_acceptor", b"\x05" + chunks(struct.pack(">H", len(name_me)) + name_me))

    # ---- EPMD codecs: selector byte, then the bytes (see fuzz_targets/epmd_codec.rs)
    alive2 = bytes([120]) + struct.pack(">HBBHHH", 40263, 77, 0, 6, 5, 2) + b"py" + struct.pack(">H", 0)
    for body in (alive2, b"\x7apy", b"\x7apy\x00", b"n", b"d", b"k", b"\x73py"):
        put("epmd_codec", b"\x00" + struct.pack(">H", len(body)) + body)
        put("epmd_codec", b"\x01" + body)
    put("epmd_codec", b"\x02" + bytes([118, 0]) + struct.pack(">I", 0x6B062EB9))
    put("epmd_codec", b"\x02" + bytes([121, 0, 0, 3]))
    put("epmd_codec", b"\x03" + bytes([119, 0]) + alive2[1:])
    put("epmd_codec", b"\x03" + bytes([119, 1]))
    put("epmd_codec", b"\x04" + struct.pack(">I", 4369) + b"name py at port 40263\nname otpa at port 45001\n")
    put(
        "epmd_codec",
        b"\x05"
        + struct.pack(">I", 4369)
        + b"active name     <py> at port 40263, fd = 7\n\0old/unused name <x>, port = 1, fd = 8 \n\0",
    )
    put("epmd_codec", b"\x06OK")
    put("epmd_codec", b"\x07NOEXISTSTOPPED")
    put("epmd_codec", b"\x08py")

    # ---- EPMD registry: flags byte, then events (see fuzz_targets/epmd_registry.rs)
    alive2_b = bytes([120]) + struct.pack(">HBBHHH", 40264, 72, 0, 5, 5, 3) + b"foo" + struct.pack(">H", 1) + b"x"
    put(
        "epmd_registry",
        b"\x01"
        + chunks(
            b"\x08" + alive2,
            b"\x19" + alive2_b,
            b"\x02\x7apy",
            b"\x0an",
            b"\x0bd",
            b"\xc8",
            b"\x08" + alive2,
            b"\x1c\x73foo",
            b"\x0dk",
            b"\xe0py",
        ),
    )
    put("epmd_registry", b"\x02" + chunks(b"\x08" + alive2, b"\xc8", b"\x09" + alive2, b"\xc9", b"\x0ak"))

    # ---- term text: the ~p column of the fixture manifests, and a few by hand
    for sub in ("etf", "etf_records"):
        for line in open(os.path.join(ROOT, "fixtures", sub, "MANIFEST.txt"), encoding="utf-8"):
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 2 and not line.startswith("#"):
                put("term_parse", cols[-1].encode())
    for text in (
        "#Pid<'n@h'.1.2.3>",
        "#Port<'n@h'.4.5>",
        "#Ref<'n@h'.1.2.3.4>",
        "fun m:f/2",
        "[a|b]",
        "#{k => v, [1] => <<1,2:3>>}",
        '<<"é"/utf8>>',
        "16#ff. % comment",
        "$\\n",
        "-2.5e-3",
        "#m:r{a = 1, b = 'x y'}",
        "{1_000, 2#1010, \"str\", 'q\\'t'}",
    ):
        put("term_parse", text.encode())

    for t in sorted(counts):
        print(f"  {t}: {counts[t]} seeds")


if __name__ == "__main__":
    main()
