//! Links the `beamnode` executable as a position-dependent (non-PIE) binary on Linux.
//!
//! Why: `beamnode call` is a one-shot command meant to connect and answer faster than
//! `erl_call` (BENCHMARKS.md). A PIE Rust binary starts with thousands of relative
//! relocations that the dynamic loader applies page by page before `main`; measured
//! with `perf stat`, that was about a third of the command's CPU time. A non-PIE
//! executable has them resolved at link time. The cost is that the executable's own
//! code is not address-randomised (shared libraries still are); the library crate,
//! tests and examples are unaffected.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bin=beamnode=-no-pie");
    }
}
