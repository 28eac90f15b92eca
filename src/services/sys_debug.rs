//! The `sys` debug options of a Rust gen_server (`sys:trace/2`, `log/2`,
//! `log_to_file/2`, `statistics/2`, `no_debug/1`, `install/2`, `remove/2`), kept and
//! answered the way OTP's `sys` module keeps them for an OTP process
//! (docs/protocol.md §8.4).
//!
//! The events are OTP's: `{in, Msg}` for every message the server takes (the raw
//! message: `{'$gen_call', From, Req}`, `{'$gen_cast', Req}` or anything else),
//! `{out, Reply, From, State}` for each reply and `{noreply, State}` when a handler
//! answers without one. `State` is [`format_state`](super::gen_server::GenServer)'s
//! term. Trace lines go to `tracing` (target `beamnode::sys`) in gen_server's own
//! wording (`*DBG* kv got call {get,k} from <…>`), since a Rust process has no
//! standard output of its own; `log_to_file` writes the same lines to a file on this
//! node, as OTP writes on the traced process's node.

use crate::term::Term;
use std::collections::VecDeque;
use std::io::Write;

/// OTP's default `sys:log` size.
const DEFAULT_LOG: usize = 10;

/// The debug options in force; all off for a new server.
#[derive(Default)]
pub(crate) struct Debug {
    trace: bool,
    /// `{log, N}`: the last `N` events, oldest first.
    log: Option<(usize, VecDeque<Term>)>,
    stats: Option<Stats>,
    file: Option<std::fs::File>,
}

struct Stats {
    /// `erlang:localtime()` when statistics were switched on.
    start: Term,
    messages_in: u64,
    messages_out: u64,
}

impl Debug {
    /// Whether any option is on (events are only built then).
    pub(crate) fn is_on(&self) -> bool {
        self.trace || self.log.is_some() || self.stats.is_some() || self.file.is_some()
    }

    /// Records one event of the server called `who`.
    pub(crate) fn event(&mut self, who: &str, event: Term) {
        if let Some(s) = &mut self.stats {
            match event.as_tuple() {
                Some([tag, ..]) if tag.is_atom("in") => s.messages_in += 1,
                Some([tag, ..]) if tag.is_atom("out") => s.messages_out += 1,
                _ => {}
            }
        }
        if self.trace || self.file.is_some() {
            let line = format_event(who, &event);
            if self.trace {
                tracing::info!(target: "beamnode::sys", "{line}");
            }
            if let Some(f) = &mut self.file {
                if let Err(error) = writeln!(f, "{line}") {
                    tracing::warn!(%error, "sys:log_to_file write failed; closing the file");
                    self.file = None;
                }
            }
        }
        if let Some((cap, events)) = &mut self.log {
            if events.len() == *cap {
                events.pop_front();
            }
            events.push_back(event);
        }
    }

    /// Answers `{debug, What}` as `sys:debug_cmd/2` does.
    pub(crate) fn command(&mut self, what: &Term, who: &str) -> Term {
        let ok = || Term::atom("ok");
        if what.is_atom("no_debug") {
            *self = Debug::default();
            return ok();
        }
        let Some([cmd, arg]) = what.as_tuple() else {
            return Term::atom("unknown_debug");
        };
        let flag = |a: &str| arg.is_atom(a);
        match cmd.as_atom().map(|a| a.as_str()) {
            Some("trace") if flag("true") || flag("false") => {
                self.trace = flag("true");
                ok()
            }
            Some("log") if flag("true") => {
                self.resize_log(self.log.as_ref().map_or(DEFAULT_LOG, |(n, _)| *n));
                ok()
            }
            Some("log") if flag("false") => {
                self.log = None;
                ok()
            }
            Some("log") if flag("get") => {
                Term::tuple(vec![Term::atom("ok"), Term::list(self.logged())])
            }
            Some("log") if flag("print") => {
                for e in self.logged() {
                    tracing::info!(target: "beamnode::sys", "{}", format_event(who, &e));
                }
                ok()
            }
            Some("log") => match arg.as_tuple() {
                Some([t, Term::Int(n)]) if t.is_atom("true") && *n >= 1 => {
                    self.resize_log(usize::try_from(*n).unwrap_or(usize::MAX).min(1 << 20));
                    ok()
                }
                _ => Term::atom("unknown_debug"),
            },
            Some("statistics") if flag("true") => {
                if self.stats.is_none() {
                    self.stats = Some(Stats {
                        start: localtime(),
                        messages_in: 0,
                        messages_out: 0,
                    });
                }
                ok()
            }
            Some("statistics") if flag("false") => {
                self.stats = None;
                ok()
            }
            Some("statistics") if flag("get") => {
                let stats = match &self.stats {
                    None => Term::atom("no_statistics"),
                    Some(s) => {
                        let pair = |k: &str, v: Term| Term::tuple(vec![Term::atom(k), v]);
                        let int = |n: u64| Term::Int(i64::try_from(n).unwrap_or(i64::MAX));
                        Term::list(vec![
                            pair("start_time", s.start.clone()),
                            pair("current_time", localtime()),
                            // A Rust process has no reductions.
                            pair("reductions", Term::Int(0)),
                            pair("messages_in", int(s.messages_in)),
                            pair("messages_out", int(s.messages_out)),
                        ])
                    }
                };
                Term::tuple(vec![Term::atom("ok"), stats])
            }
            Some("log_to_file") if flag("false") => {
                self.file = None;
                ok()
            }
            Some("log_to_file") => {
                self.file = None;
                match file_name(arg).and_then(|name| std::fs::File::create(name).ok()) {
                    Some(f) => {
                        self.file = Some(f);
                        ok()
                    }
                    None => Term::tuple(vec![Term::atom("error"), Term::atom("open_file")]),
                }
            }
            // A debug function is an Erlang fun: its code exists only on the BEAM node
            // that made it. Refused, as rpc of a closure is (docs/limitations.md).
            Some("install") => Term::tuple(vec![
                Term::atom("error"),
                Term::atom(crate::node::CANNOT_RUN_FUNS),
            ]),
            // Nothing can have been installed: removing is a no-op, as in OTP.
            Some("remove") => ok(),
            _ => Term::atom("unknown_debug"),
        }
    }

    /// The `Debug` element of `sys:get_status/1`: `[{trace, true}, {log, …},
    /// {statistics, {Start, {reductions, 0}, In, Out}}]` for what is on.
    pub(crate) fn status_term(&self) -> Term {
        let mut items = Vec::new();
        if self.trace {
            items.push(Term::tuple(vec![Term::atom("trace"), Term::atom("true")]));
        }
        if let Some((n, events)) = &self.log {
            let n = Term::Int(i64::try_from(*n).unwrap_or(i64::MAX));
            let events = Term::list(events.iter().cloned().collect());
            items.push(Term::tuple(vec![
                Term::atom("log"),
                Term::tuple(vec![n, events]),
            ]));
        }
        if let Some(s) = &self.stats {
            let int = |n: u64| Term::Int(i64::try_from(n).unwrap_or(i64::MAX));
            items.push(Term::tuple(vec![
                Term::atom("statistics"),
                Term::tuple(vec![
                    s.start.clone(),
                    Term::tuple(vec![Term::atom("reductions"), Term::Int(0)]),
                    int(s.messages_in),
                    int(s.messages_out),
                ]),
            ]));
        }
        Term::list(items)
    }

    /// The logged events, oldest first (`sys:get_log/1`).
    pub(crate) fn logged(&self) -> Vec<Term> {
        match &self.log {
            Some((_, events)) => events.iter().cloned().collect(),
            None => Vec::new(),
        }
    }

    fn resize_log(&mut self, n: usize) {
        let mut events = self.log.take().map(|(_, e)| e).unwrap_or_default();
        while events.len() > n {
            events.pop_front();
        }
        self.log = Some((n, events));
    }
}

/// A file name as `sys:log_to_file/2` takes it: a charlist, a binary or an atom.
fn file_name(t: &Term) -> Option<String> {
    if let Some(a) = t.as_atom() {
        return Some(a.as_str().to_string());
    }
    if let Ok(s) = String::try_from(t) {
        return Some(s);
    }
    super::sys::charlist(t)
}

/// gen_server's `print_event/3` wording.
fn format_event(who: &str, event: &Term) -> String {
    match event.as_tuple() {
        Some([tag, msg]) if tag.is_atom("in") => match msg.as_tuple() {
            Some([t, from, call]) if t.is_atom("$gen_call") => {
                let pid = from.as_tuple().and_then(|f| f.first().cloned());
                let pid = pid.map_or_else(|| from.to_string(), |p| p.to_string());
                format!("*DBG* {who} got call {call} from {pid}")
            }
            Some([t, cast]) if t.is_atom("$gen_cast") => format!("*DBG* {who} got cast {cast}"),
            _ => format!("*DBG* {who} got {msg}"),
        },
        Some([tag, reply, to, state]) if tag.is_atom("out") => {
            let pid = to.as_tuple().and_then(|f| f.first().cloned());
            let pid = pid.map_or_else(|| to.to_string(), |p| p.to_string());
            format!("*DBG* {who} sent {reply} to {pid}, new state {state}")
        }
        Some([tag, state]) if tag.is_atom("noreply") => {
            format!("*DBG* {who} new state {state}")
        }
        _ => format!("*DBG* {who} dbg {event}"),
    }
}

/// `{{Y, M, D}, {H, Mi, S}}` now, local time (`erlang:localtime/0`).
fn localtime() -> Term {
    super::native::localtime_now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_keeps_the_last_n_and_statistics_count_in_and_out() {
        let mut d = Debug::default();
        assert!(!d.is_on());
        let log3 = Term::tuple(vec![
            Term::atom("log"),
            Term::tuple(vec![Term::atom("true"), Term::Int(3)]),
        ]);
        assert!(d.command(&log3, "s").is_atom("ok"));
        let stats_on = Term::tuple(vec![Term::atom("statistics"), Term::atom("true")]);
        assert!(d.command(&stats_on, "s").is_atom("ok"));
        for i in 0..5 {
            d.event("s", Term::tuple(vec![Term::atom("in"), Term::Int(i)]));
        }
        d.event("s", Term::tuple(vec![Term::atom("noreply"), Term::Nil]));
        assert_eq!(d.logged().len(), 3);
        assert_eq!(d.logged()[0].to_string(), "{in,3}");
        let get = Term::tuple(vec![Term::atom("statistics"), Term::atom("get")]);
        let stats = d.command(&get, "s").to_string();
        assert!(
            stats.contains("{messages_in,5},{messages_out,0}"),
            "{stats}"
        );
        assert!(d.command(&Term::atom("no_debug"), "s").is_atom("ok"));
        assert!(!d.is_on());
        assert_eq!(d.command(&get, "s").to_string(), "{ok,no_statistics}");
        assert!(d
            .command(&Term::atom("bogus"), "s")
            .is_atom("unknown_debug"));
    }
}
