//! Distribution capability flags (docs/protocol.md §3). Values are taken from OTP's
//! `lib/kernel/include/dist.hrl` / `erts/emulator/beam/dist.h`, not from the prose docs
//! (which give the wrong bit for `MANDATORY_25_DIGEST`, §3.2).

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign};

/// A set of distribution flags as exchanged in the handshake (64 bits since OTP 23).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DistFlags(pub u64);

macro_rules! flags {
    ($($(#[$doc:meta])* $name:ident = $value:expr;)*) => {
        impl DistFlags {
            $($(#[$doc])* pub const $name: DistFlags = DistFlags($value);)*
            /// Every named flag with its name, lowest bit first (for logs).
            pub const NAMED: &'static [(&'static str, DistFlags)] = &[$((stringify!($name), DistFlags($value)),)*];
        }
    };
}

flags! {
    /// The node wants a visible connection (§3.4).
    PUBLISHED = 0x1;
    /// Obsolete atom cache; never offered.
    ATOM_CACHE = 0x2;
    EXTENDED_REFERENCES = 0x4;
    DIST_MONITOR = 0x8;
    FUN_TAGS = 0x10;
    DIST_MONITOR_NAME = 0x20;
    HIDDEN_ATOM_CACHE = 0x40;
    NEW_FUN_TAGS = 0x80;
    EXTENDED_PIDS_PORTS = 0x100;
    EXPORT_PTR_TAG = 0x200;
    BIT_BINARIES = 0x400;
    NEW_FLOATS = 0x800;
    UNICODE_IO = 0x1000;
    /// Distribution header with atom cache (§4.3).
    DIST_HDR_ATOM_CACHE = 0x2000;
    SMALL_ATOM_TAGS = 0x4000;
    UTF8_ATOMS = 0x10000;
    MAP_TAG = 0x20000;
    BIG_CREATION = 0x40000;
    SEND_SENDER = 0x80000;
    BIG_SEQTRACE_LABELS = 0x100000;
    EXIT_PAYLOAD = 0x400000;
    /// Fragmented messages (§4.4).
    FRAGMENTS = 0x800000;
    HANDSHAKE_23 = 0x1000000;
    UNLINK_ID = 0x2000000;
    /// Shorthand for "every MANDATORY_25 flag" — bit 26 in the code (§3.2).
    MANDATORY_25_DIGEST = 0x4000000;
    SPAWN = 1 << 32;
    NAME_ME = 1 << 33;
    V4_NC = 1 << 34;
    ALIAS = 1 << 35;
    /// Internal to OTP 26+ (`term_to_binary(T, [local])`); never meaningful on the wire.
    LOCAL_EXT = 1 << 36;
    /// OTP 28 ALTACT_SIG_SEND (§5.3).
    ALTACT_SIG = 1 << 37;
    /// OTP 29 native records (tag 67, `Term::Record`; in `kernel/include/dist.hrl` of
    /// OTP 29, whose nodes offer it by default). Offered: records are decoded and
    /// encoded (§6.1); a payload with a record is refused to a peer without it.
    NATIVE_RECORDS = 1 << 38;
}

impl DistFlags {
    /// `DFLAG_DIST_MANDATORY_25` (§3.2): what OTP 25 requires of a peer.
    pub const MANDATORY_25: DistFlags = DistFlags(0x107_0F94);
    /// `DFLAG_DIST_MANDATORY_26`: what OTP 26+ additionally require.
    pub const MANDATORY_26: DistFlags = DistFlags((1 << 34) | 0x200_0000);

    /// What beamnode requires of every peer: the OTP 26+ mandatory set. OTP 25 offers
    /// all of it by default (§3.3), and so does OTP 24; OTP 23 lacks V4_NC (added in
    /// OTP 24) and is refused with a log line naming the missing flag.
    pub const REQUIRED: DistFlags = DistFlags(Self::MANDATORY_25.0 | Self::MANDATORY_26.0);

    /// Everything beamnode implements, without PUBLISHED. Each bit here is backed by
    /// code: monitors, name monitors, UNICODE_IO, SEND_SENDER, any seq_trace label,
    /// payload exits, fragments (received and reassembled), the atom-cache distribution
    /// header (decoded on receive; we send with zero cache refs, §4.3), spawn
    /// requests served and made (`node::spawn`, §5.4; MFAs come from the node's
    /// function registry and erpc's `execute_call`), aliases, and ALTACT_SIG (OTP 28+,
    /// §5.3: op 37 decoded and dispatched; alias messages to a peer that has it go as
    /// op 37, since OTP 30 drops ALIAS_SEND) and NATIVE_RECORDS (OTP 29, §6.1).
    pub const IMPLEMENTED: DistFlags = DistFlags(
        Self::REQUIRED.0
            | Self::MANDATORY_25_DIGEST.0
            | Self::DIST_MONITOR.0
            | Self::DIST_MONITOR_NAME.0
            | Self::UNICODE_IO.0
            | Self::DIST_HDR_ATOM_CACHE.0
            | Self::SMALL_ATOM_TAGS.0
            | Self::SEND_SENDER.0
            | Self::BIG_SEQTRACE_LABELS.0
            | Self::EXIT_PAYLOAD.0
            | Self::FRAGMENTS.0
            | Self::SPAWN.0
            | Self::ALIAS.0
            | Self::ALTACT_SIG.0
            | Self::NATIVE_RECORDS.0,
    );

    pub const fn empty() -> Self {
        DistFlags(0)
    }
    pub const fn bits(self) -> u64 {
        self.0
    }
    pub const fn contains(self, other: DistFlags) -> bool {
        self.0 & other.0 == other.0
    }
    pub const fn intersects(self, other: DistFlags) -> bool {
        self.0 & other.0 != 0
    }
    /// The flags that are in `required` but not in `self`.
    pub const fn missing(self, required: DistFlags) -> DistFlags {
        DistFlags(required.0 & !self.0)
    }
    /// OTP 25+ expand `MANDATORY_25_DIGEST` into the individual mandatory-25 bits
    /// before checking a peer (§3.2).
    pub const fn expand_digest(self) -> DistFlags {
        if self.0 & Self::MANDATORY_25_DIGEST.0 != 0 {
            DistFlags(self.0 | Self::MANDATORY_25.0)
        } else {
            self
        }
    }
    /// On a *negotiated* flag word (ours AND the peer's): the connection is visible iff
    /// both sides set PUBLISHED (§3.4); otherwise it is hidden for both.
    pub const fn is_visible(self) -> bool {
        self.0 & Self::PUBLISHED.0 != 0
    }
    /// The low 32 bits only: all an old `'n'` name message can carry (§3.1).
    pub const fn low_word(self) -> DistFlags {
        DistFlags(self.0 & 0xFFFF_FFFF)
    }
    /// Names of the set bits, lowest first; unnamed bits print in hex.
    pub fn names(self) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = self.0;
        for (name, f) in Self::NAMED {
            if self.0 & f.0 != 0 {
                out.push((*name).to_string());
                rest &= !f.0;
            }
        }
        if rest != 0 {
            out.push(format!("{rest:#x}"));
        }
        out
    }
}

impl BitOr for DistFlags {
    type Output = DistFlags;
    fn bitor(self, rhs: DistFlags) -> DistFlags {
        DistFlags(self.0 | rhs.0)
    }
}
impl BitOrAssign for DistFlags {
    fn bitor_assign(&mut self, rhs: DistFlags) {
        self.0 |= rhs.0
    }
}
impl BitAnd for DistFlags {
    type Output = DistFlags;
    fn bitand(self, rhs: DistFlags) -> DistFlags {
        DistFlags(self.0 & rhs.0)
    }
}

impl fmt::Debug for DistFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DistFlags({:#x}: {})", self.0, self.names().join("|"))
    }
}

impl fmt::Display for DistFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.names().join("|"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mandatory_sets_match_dist_hrl() {
        let m25 = DistFlags::EXTENDED_REFERENCES
            | DistFlags::FUN_TAGS
            | DistFlags::EXTENDED_PIDS_PORTS
            | DistFlags::NEW_FUN_TAGS
            | DistFlags::EXPORT_PTR_TAG
            | DistFlags::BIT_BINARIES
            | DistFlags::NEW_FLOATS
            | DistFlags::UTF8_ATOMS
            | DistFlags::MAP_TAG
            | DistFlags::BIG_CREATION
            | DistFlags::HANDSHAKE_23;
        assert_eq!(m25, DistFlags::MANDATORY_25);
        assert_eq!(DistFlags::MANDATORY_26.0, 0x4_0200_0000);
    }

    #[test]
    fn otp25_default_word_has_everything_we_require() {
        // §16.1 row 1: what a hidden OTP 25.2.3 node sends.
        let otp = DistFlags(0x0000_000D_07DF_7FBC);
        assert!(otp.contains(DistFlags::REQUIRED));
        // Everything we implement but what came after OTP 25.
        let since_25 = DistFlags(DistFlags::ALTACT_SIG.0 | DistFlags::NATIVE_RECORDS.0);
        assert!(otp.contains(DistFlags(DistFlags::IMPLEMENTED.0 & !since_25.0)));
    }
}
