//! CPU time per unit of work, beside the throughput figures: how much processor time
//! the driver node and the target spent on each message, MB or call of a run.
//!
//! Throughput on this 2-core machine swings by up to 2× between runs, but CPU time
//! per unit of work barely moves, and it shows where a row's time goes: the driver
//! and the target share the two cores, so a target that costs the driver more CPU
//! per message (for instance by reading in a way that makes it send smaller TCP
//! segments) slows the run even when the target itself is cheap.
//!
//! The BEAM nodes' time is read from `/proc/<pid>/task/*/schedstat` (nanoseconds on a
//! CPU, summed over the process's threads), so short runs are measured as exactly as
//! long ones; their threads live as long as the nodes. The bench process's own time
//! comes from `getrusage(RUSAGE_SELF)`, which keeps the time of threads that ended
//! (tokio's blocking threads come and go). The beamnode target is the bench process
//! itself, so its figure also holds the harness's own (small) work.

/// CPU seconds used so far by the threads of process `pid`; 0 if it cannot be read.
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0.0;
    };
    let mut ns = 0u64;
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        // "on-CPU ns, waiting ns, timeslices"
        ns += stat
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    ns as f64 / 1e9
}

/// User plus system CPU seconds of this process, ended threads included.
#[cfg(feature = "cli")]
fn own_cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given, which is plain data.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return cpu_seconds(std::process::id());
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(ru.ru_utime) + secs(ru.ru_stime)
}

/// Without the `cli` feature (no `libc`): the threads alive now, as for the nodes.
#[cfg(not(feature = "cli"))]
fn own_cpu_seconds() -> f64 {
    cpu_seconds(std::process::id())
}

/// CPU seconds of the three processes a run involves.
#[derive(Clone, Copy, Default)]
pub struct Snapshot {
    pub driver: f64,
    pub beam_target: f64,
    pub this_process: f64,
}

impl Snapshot {
    pub fn take(driver: u32, beam_target: u32) -> Snapshot {
        Snapshot {
            driver: cpu_seconds(driver),
            beam_target: cpu_seconds(beam_target),
            this_process: own_cpu_seconds(),
        }
    }
    /// What each process used between `before` and `self`.
    pub fn since(&self, before: &Snapshot) -> Snapshot {
        Snapshot {
            driver: self.driver - before.driver,
            beam_target: self.beam_target - before.beam_target,
            this_process: self.this_process - before.this_process,
        }
    }
}
