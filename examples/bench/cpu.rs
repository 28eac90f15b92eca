//! CPU time per unit of work, beside the throughput figures: how much processor time
//! the driver node and the target spent on each message, MB or call of a run.
//!
//! Throughput on this 2-core machine swings by up to 2× between runs, but CPU time
//! per unit of work barely moves, and it shows where a row's time goes: the driver
//! and the target share the two cores, so a target that costs the driver more CPU
//! per message (for instance by reading in a way that makes it send smaller TCP
//! segments) slows the run even when the target itself is cheap.
//!
//! Read from `/proc/<pid>/task/*/schedstat` (nanoseconds on a CPU, summed over the
//! process's threads), so short runs are measured as exactly as long ones. A thread
//! that ends during a run takes its time with it; the nodes' threads live as long
//! as the nodes. The beamnode target is the bench process itself, so its figure also
//! holds the harness's own (small) work.

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
            this_process: cpu_seconds(std::process::id()),
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
