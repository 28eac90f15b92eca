//! The static build of `scripts/build-static.sh` (musl when Rust's musl target is
//! available, glibc otherwise) — the build BENCHMARKS.md times against `erl_call` and
//! README recommends for scripts — is really static and answers `call` and `ping`
//! against real OTP 25 like the normal build (values, output of the called function,
//! `badrpc` and nodedown exit statuses).

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

/// Runs scripts/build-static.sh; the path of the executable it built.
fn build_static() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new("bash");
    cmd.arg("scripts/build-static.sh").current_dir(root);
    // A cold build compiles every dependency again for the static target.
    let (out, err) = run_bounded(&mut cmd, Duration::from_secs(1200));
    let path = root.join(out.trim());
    assert!(
        path.is_file(),
        "build-static.sh printed {out:?}, no such file; its stderr:\n{err}"
    );
    path
}

/// Whether the ELF executable at `path` asks for a program interpreter (the dynamic
/// loader): a PT_INTERP entry among its program headers.
fn has_interpreter(path: &Path) -> bool {
    let elf = std::fs::read(path).expect("read the executable");
    assert_eq!(&elf[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(elf[4], 2, "not a 64-bit ELF file");
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    (0..phnum).any(|i| {
        let o = phoff + i * phentsize;
        u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) == 3 // PT_INTERP
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_build_calls_real_erl() {
    require("erl");
    let exe = tokio::task::spawn_blocking(build_static).await.unwrap();
    assert!(
        !has_interpreter(&exe),
        "{} needs a dynamic loader",
        exe.display()
    );
    let epmd = private_epmd().await;
    let name = unique("stat");
    let mut erl = Erl::start(&name, COOKIE, epmd, "io:format(\"UP~n\").");
    erl.expect("UP", T).await;
    let target = format!("{name}@localhost");
    let t = target.as_str();
    assert_eq!(
        run_cli(&exe, &["call", t, "erlang", "node"], epmd).await,
        (0, target.clone())
    );
    assert_eq!(
        run_cli(
            &exe,
            &["call", t, "io", "format", r#"["hi ~p~n", [42]]"#],
            epmd
        )
        .await,
        (0, "hi 42\nok".to_string())
    );
    assert_eq!(
        run_cli(&exe, &["call", t, "nomod", "nofun", "[]"], epmd).await,
        (
            1,
            "{badrpc,{'EXIT',{undef,[{nomod,nofun,[],[]}]}}}".to_string()
        )
    );
    assert_eq!(
        run_cli(&exe, &["call", "nobody@localhost", "erlang", "node"], epmd).await,
        (3, "{badrpc,nodedown}".to_string())
    );
    assert_eq!(
        run_cli(&exe, &["ping", t], epmd).await,
        (0, "pong".to_string())
    );
    // Command-line errors still come from clap with its usage status.
    assert_eq!(run_cli(&exe, &["call", t], epmd).await.0, 2);
}
