//! Local processes: creating and spawning them (with a handle on their exit),
//! the name registry, and what `process_info` and group leaders report of them.
//! Spawn *requests* from other nodes are in `spawn.rs`; signals in `signals.rs`.

use super::{task, Node, Process};
use crate::runtime::mailbox::Mailbox;
use crate::runtime::table::{key, LinkState, Monitor, RegisterError, Watch, Watched};
use crate::term::{Atom, Pid, Reference, Term};
use std::future::Future;
use tracing::{info_span, Instrument};

/// A snapshot of one local process, as `erlang:process_info/2` reports it
/// ([`Node::process_info`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProcessInfo {
    pub registered_name: Option<Atom>,
    /// Messages that arrived and that the process has not yet looked at (a selective
    /// receive's skipped messages are held by the process itself and not counted).
    pub message_queue_len: usize,
    pub links: Vec<Pid>,
    /// What it monitors: pids, or `{Name, Node}`.
    pub monitors: Vec<Watched>,
    /// Who monitors it.
    pub monitored_by: Vec<Pid>,
    pub trap_exit: bool,
    pub group_leader: Option<Pid>,
}

/// A spawned process ([`Node::spawn_handle`]): its pid, and, awaited, its exit reason.
/// Dropping the handle leaves the process running.
#[derive(Debug)]
pub struct ProcessHandle {
    pid: Pid,
    exit: tokio::sync::oneshot::Receiver<Term>,
}

impl ProcessHandle {
    /// The process's pid (to send to, link or monitor).
    pub fn pid(&self) -> &Pid {
        &self.pid
    }
}

impl Future for ProcessHandle {
    type Output = Term;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Term> {
        std::pin::Pin::new(&mut self.exit)
            .poll(cx)
            // The task was dropped without finishing: the runtime shut down.
            .map(|r| r.unwrap_or_else(|_| Term::atom("shutdown")))
    }
}

/// Options for [`Node::spawn_with`].
#[derive(Debug, Clone, Default)]
pub struct SpawnOpts {
    /// Register the new process under this name.
    pub name: Option<Atom>,
    /// Link the new process to this pid.
    pub link: Option<Pid>,
    /// `(watcher, reference)`: the watcher monitors the new process under this
    /// reference.
    pub monitor: Option<(Pid, Reference)>,
    /// The new process's group leader.
    pub group_leader: Option<Pid>,
}

impl Node {
    /// Creates a process for the calling code: a pid and mailbox, without a task.
    /// The process exits when the returned value is dropped.
    pub fn process(&self) -> Process {
        self.new_process(None, false)
    }

    fn new_process(&self, group_leader: Option<Pid>, managed: bool) -> Process {
        let pid = self.inner.ids.new_pid();
        let (control, _, mailbox) = Mailbox::new();
        self.inner.table.insert(pid.clone(), control, group_leader);
        Process::new(pid, self.clone(), mailbox, managed)
    }

    /// Spawns a Rust process running `body` on the tokio runtime; returns its pid.
    /// The process ends when `body` returns (reason `normal`), panics (reason
    /// `{panic, Text}`) or is killed by an exit signal (its task is aborted).
    pub fn spawn<F, Fut>(&self, body: F) -> Pid
    where
        F: FnOnce(Process) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.spawn_with(SpawnOpts::default(), body)
            .unwrap_or_else(|(pid, _)| pid)
    }

    /// Spawns a process and registers it under `name` before it runs.
    pub fn spawn_registered<F, Fut>(&self, name: &str, body: F) -> Result<Pid, RegisterError>
    where
        F: FnOnce(Process) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let opts = SpawnOpts {
            name: Some(Atom::new(name)),
            ..SpawnOpts::default()
        };
        self.spawn_with(opts, body).map_err(|(_, e)| e)
    }

    /// Spawns a process with options: a registered name, a link to `link`, a monitor
    /// held by `monitor.0` under reference `monitor.1`, a group leader. Link and
    /// monitor are in place before the body runs. If the name is taken the process is
    /// not started and the error comes back with the pid it would have had.
    pub fn spawn_with<F, Fut>(&self, opts: SpawnOpts, body: F) -> Result<Pid, (Pid, RegisterError)>
    where
        F: FnOnce(Process) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.spawn_inner(opts, body, None)
    }

    /// Spawns a process and returns a [`ProcessHandle`]: its pid, and a future of its
    /// exit reason (`normal`, the reason of [`Process::exit`], `{panic, Text}`, or the
    /// reason of the exit signal that killed it).
    pub fn spawn_handle<F, Fut>(&self, body: F) -> ProcessHandle
    where
        F: FnOnce(Process) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let pid = self
            .spawn_inner(SpawnOpts::default(), body, Some(tx))
            .unwrap_or_else(|(pid, _)| pid);
        ProcessHandle { pid, exit: rx }
    }

    fn spawn_inner<F, Fut>(
        &self,
        opts: SpawnOpts,
        body: F,
        on_exit: Option<tokio::sync::oneshot::Sender<Term>>,
    ) -> Result<Pid, (Pid, RegisterError)>
    where
        F: FnOnce(Process) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let p = self.new_process(opts.group_leader.clone(), true);
        let pid = p.pid().clone();
        if let Some(name) = &opts.name {
            if let Err(e) = self.inner.table.register(name.clone(), key(&pid)) {
                // Marked exited too, as every process leaving the table is, so a
                // mailbox a connection remembers refuses messages (`delivery.rs`).
                if let Some(entry) = self.inner.table.with(|t| t.remove(key(&pid))) {
                    entry.control.kill(Term::atom("badarg"));
                }
                return Err((pid, e));
            }
        }
        if let Some(parent) = &opts.link {
            if self.inner.ids.is_local_pid(parent) {
                if self.link(&pid, parent).is_err() {
                    // The parent is already gone: the child gets its exit at once.
                    self.exit_signal_in(parent, &pid, Term::atom("noproc"), false);
                }
            } else {
                self.inner.table.with(|t| {
                    if let Some(e) = t.procs.get_mut(&key(&pid)) {
                        e.links.insert(parent.clone(), LinkState::Active);
                    }
                });
            }
        }
        if let Some((watcher, reference)) = &opts.monitor {
            self.inner.table.with(|t| {
                if let Some(e) = t.procs.get_mut(&key(&pid)) {
                    e.monitored_by.push(Monitor {
                        reference: reference.clone(),
                        watcher: watcher.clone(),
                        by_name: None,
                    });
                }
                if self.inner.ids.is_local_pid(watcher) {
                    if let Some(w) = t.procs.get_mut(&key(watcher)) {
                        w.monitoring.insert(
                            reference.clone(),
                            Watch {
                                target: Watched::Pid(pid.clone()),
                                alias: false,
                            },
                        );
                    }
                }
            });
        }
        let control = p.control();
        let span = info_span!("process", pid = %pid);
        let fut = body(p);
        tokio::spawn(
            task::ProcessTask::new(fut, control, self.clone(), pid.clone(), on_exit)
                .instrument(span),
        );
        Ok(pid)
    }

    /// Registers `pid` (a local process) under `name`.
    pub fn register(&self, name: Atom, pid: &Pid) -> Result<(), RegisterError> {
        if !self.inner.ids.is_local_pid(pid) {
            return Err(RegisterError::NoProc);
        }
        self.inner.table.register(name, key(pid))
    }

    /// Removes a registered name.
    pub fn unregister(&self, name: &Atom) -> bool {
        self.inner.table.unregister(name)
    }

    /// The pid registered as `name` here.
    pub fn whereis(&self, name: &Atom) -> Option<Pid> {
        self.inner.table.whereis(name)
    }

    /// Names registered here.
    pub fn registered(&self) -> Vec<Atom> {
        self.inner.table.registered()
    }

    /// Pids of live local processes.
    pub fn processes(&self) -> Vec<Pid> {
        self.inner.table.pids()
    }

    /// True if `pid` is a live local process.
    pub fn is_process_alive(&self, pid: &Pid) -> bool {
        self.inner.ids.is_local_pid(pid) && self.inner.table.contains(key(pid))
    }

    /// What `erlang:process_info/1,2` reports of local `pid`, or `None` if it is not a
    /// live process here.
    pub fn process_info(&self, pid: &Pid) -> Option<ProcessInfo> {
        if !self.inner.ids.is_local_pid(pid) {
            return None;
        }
        self.inner.table.with(|t| {
            let e = t.procs.get(&key(pid))?;
            Some(ProcessInfo {
                registered_name: e.name.clone(),
                message_queue_len: e.control.queued(),
                links: e
                    .links
                    .iter()
                    .filter(|(_, s)| **s == LinkState::Active)
                    .map(|(p, _)| p.clone())
                    .collect(),
                monitors: e.monitoring.iter().map(|(_, w)| w.target.clone()).collect(),
                monitored_by: e.monitored_by.iter().map(|m| m.watcher.clone()).collect(),
                trap_exit: e.trap_exit,
                group_leader: e.group_leader.clone(),
            })
        })
    }

    /// The group leader of local `pid`.
    pub fn group_leader_of(&self, pid: &Pid) -> Option<Pid> {
        self.inner
            .table
            .with(|t| t.procs.get(&key(pid)).and_then(|e| e.group_leader.clone()))
    }

    /// Sets the group leader of local `pid` (`group_leader/2`; GROUP_LEADER, §5.1 op 7).
    pub fn set_group_leader(&self, pid: &Pid, leader: Pid) {
        if !self.inner.ids.is_local_pid(pid) {
            return;
        }
        self.inner.table.with(|t| {
            if let Some(e) = t.procs.get_mut(&key(pid)) {
                e.group_leader = Some(leader);
            }
        });
    }
}
