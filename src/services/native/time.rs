//! Time BIFs over rpc: `erlang:monotonic_time/0,1`, `system_time/0,1`,
//! `time_offset/0,1`, `timestamp/0`, `universaltime/0`, `localtime/0`, `date/0`,
//! `time/0`, `convert_time_unit/3`, and `os:system_time/0,1`, `os:timestamp/0` — what
//! a peer asks a node to compare clocks or stamp a log line.
//!
//! The native time unit is the nanosecond, as BEAM's on Linux
//! (`erlang:convert_time_unit(1, second, native)` is 1,000,000,000 there), so a value
//! in `native` means the same on both. Monotonic time counts from the node's start
//! (BEAM's starts at an arbitrary, usually negative, point: only differences mean
//! anything). As in BEAM's default time warp mode (`no_time_warp`), the time offset is
//! fixed when the node starts and Erlang system time is monotonic time plus that
//! offset, so it does not jump when the OS clock is stepped; `os:system_time` and
//! `os:timestamp` read the OS clock itself.

use crate::node::{Node, RpcException, RpcResult};
use crate::term::Term;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const NATIVE_PER_SECOND: i128 = 1_000_000_000;

/// Registers the time functions on `node`; monotonic time counts from now.
pub(super) fn register(node: &Node) {
    let start = Instant::now();
    // Monotonic time in native units (nanoseconds since `start`).
    let mono = move || start.elapsed().as_nanos() as i128;
    // Fixed for the node's life: the OS clock at `start` minus monotonic zero.
    let offset = os_ns() - mono();
    let system = move || mono() + offset;
    node.register_rpc_async("erlang", "system_time", 0, move |_, _| async move {
        Ok(int(system()))
    });
    node.register_rpc_async("erlang", "system_time", 1, move |_, args| async move {
        converted(system(), args.first())
    });
    node.register_rpc_async(
        "os",
        "system_time",
        0,
        |_, _| async move { Ok(int(os_ns())) },
    );
    node.register_rpc_async("os", "system_time", 1, |_, args| async move {
        converted(os_ns(), args.first())
    });
    node.register_rpc_async("erlang", "monotonic_time", 0, move |_, _| async move {
        Ok(int(mono()))
    });
    node.register_rpc_async("erlang", "monotonic_time", 1, move |_, args| async move {
        converted(mono(), args.first())
    });
    node.register_rpc_async("erlang", "time_offset", 0, move |_, _| async move {
        Ok(int(offset))
    });
    node.register_rpc_async("erlang", "time_offset", 1, move |_, args| async move {
        converted(offset, args.first())
    });
    node.register_rpc_async("erlang", "timestamp", 0, move |_, _| async move {
        Ok(timestamp(system()))
    });
    node.register_rpc_async("os", "timestamp", 0, |_, _| async move {
        Ok(timestamp(os_ns()))
    });
    node.register_rpc_async("erlang", "convert_time_unit", 3, |_, args| async move {
        // Integers past i64 (bignums) are refused, where BEAM converts them.
        match &args[..] {
            [Term::Int(t), from, to] => {
                let from = unit(from).ok_or_else(RpcException::badarg)?;
                let to = unit(to).ok_or_else(RpcException::badarg)?;
                Ok(int(convert(i128::from(*t), from, to)))
            }
            _ => Err(RpcException::badarg()),
        }
    });
    let secs = move || system().div_euclid(NATIVE_PER_SECOND);
    node.register_rpc_async("erlang", "universaltime", 0, move |_, _| async move {
        Ok(datetime(civil(secs())))
    });
    node.register_rpc_async("erlang", "localtime", 0, move |_, _| async move {
        Ok(datetime(local(secs())))
    });
    node.register_rpc_async("erlang", "date", 0, move |_, _| async move {
        Ok(triple(local(secs()).0))
    });
    node.register_rpc_async("erlang", "time", 0, move |_, _| async move {
        Ok(triple(local(secs()).1))
    });
}

/// An integer term; past i64 a bignum, as BEAM answers.
fn int(v: i128) -> Term {
    match i64::try_from(v) {
        Ok(i) => Term::Int(i),
        Err(_) => Term::from_bigint(num_bigint::BigInt::from(v)),
    }
}

/// The OS clock: nanoseconds since the Unix epoch (negative before it).
fn os_ns() -> i128 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

/// Parts per second of a time unit term: `second`, `millisecond`, `microsecond`,
/// `nanosecond`, `native`, `perf_counter` (both the nanosecond here), the deprecated
/// plural forms, or a positive integer.
fn unit(t: &Term) -> Option<i128> {
    match t {
        Term::Int(n) if *n > 0 => Some(i128::from(*n)),
        Term::Atom(a) => Some(match a.as_str() {
            "second" | "seconds" => 1,
            "millisecond" | "milli_seconds" => 1_000,
            "microsecond" | "micro_seconds" => 1_000_000,
            "nanosecond" | "nano_seconds" | "native" | "perf_counter" => NATIVE_PER_SECOND,
            _ => return None,
        }),
        _ => None,
    }
}

/// `t` from `from` to `to` parts per second, rounded toward negative infinity, as
/// `erlang:convert_time_unit/3`.
fn convert(t: i128, from: i128, to: i128) -> i128 {
    (t * to).div_euclid(from)
}

/// A native-unit value in the unit the argument names (badarg for anything else).
fn converted(native: i128, unit_arg: Option<&Term>) -> RpcResult {
    let to = unit_arg.and_then(unit).ok_or_else(RpcException::badarg)?;
    Ok(int(convert(native, NATIVE_PER_SECOND, to)))
}

/// `{MegaSecs, Secs, MicroSecs}` of a system time in nanoseconds.
fn timestamp(ns: i128) -> Term {
    let us = ns.div_euclid(1_000);
    Term::tuple(vec![
        int(us.div_euclid(1_000_000_000_000)),
        int(us.div_euclid(1_000_000).rem_euclid(1_000_000)),
        int(us.rem_euclid(1_000_000)),
    ])
}

type Date = (i64, i64, i64);

fn triple((a, b, c): Date) -> Term {
    Term::tuple(vec![Term::Int(a), Term::Int(b), Term::Int(c)])
}

fn datetime((date, time): (Date, Date)) -> Term {
    Term::tuple(vec![triple(date), triple(time)])
}

/// `erlang:localtime/0` now, from the OS clock (for `sys` statistics and logs).
pub(crate) fn localtime_now() -> Term {
    datetime(local(os_ns().div_euclid(NATIVE_PER_SECOND)))
}

/// The UTC calendar date and time of `secs` since the epoch (proleptic Gregorian;
/// Howard Hinnant's days-to-civil algorithm).
fn civil(secs: i128) -> (Date, Date) {
    let days = secs.div_euclid(86_400) as i64;
    let rem = secs.rem_euclid(86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        (year, month, day),
        (rem / 3_600, rem % 3_600 / 60, rem % 60),
    )
}

/// The local calendar date and time of `secs` since the epoch, from the C library's
/// `localtime_r` (which reads `TZ` and the system's zone, as BEAM does); UTC when that
/// fails, and off Unix.
#[cfg(not(unix))]
fn local(secs: i128) -> (Date, Date) {
    civil(secs)
}

#[cfg(unix)]
fn local(secs: i128) -> (Date, Date) {
    let Ok(t) = libc::time_t::try_from(secs) else {
        return civil(secs);
    };
    // SAFETY: `localtime_r` reads `t` and writes only the `tm` we own; a zeroed `tm` is
    // a valid value of that plain C struct. It also reads `TZ` through `getenv`, which
    // races with `std::env::set_var` from another thread of an embedding program (as
    // every libc time-zone call does); beamnode itself never sets the environment.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::localtime_r(&t, &mut tm) };
    if r.is_null() {
        return civil(secs);
    }
    (
        (
            i64::from(tm.tm_year) + 1900,
            i64::from(tm.tm_mon) + 1,
            i64::from(tm.tm_mday),
        ),
        (
            i64::from(tm.tm_hour),
            i64::from(tm.tm_min),
            i64::from(tm.tm_sec),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_dates_of_known_instants() {
        assert_eq!(civil(0), ((1970, 1, 1), (0, 0, 0)));
        // 2000-02-29 12:34:56 UTC, a leap day.
        assert_eq!(civil(951_827_696), ((2000, 2, 29), (12, 34, 56)));
        // 1969-12-31 23:59:59 UTC, before the epoch.
        assert_eq!(civil(-1), ((1969, 12, 31), (23, 59, 59)));
        // Days 11,016 and 20,793 after the epoch.
        assert_eq!(civil(11_016 * 86_400).0, (2000, 2, 29));
        assert_eq!(civil(20_793 * 86_400).0, (2026, 12, 6));
        // 2026-12-07 00:00:00 UTC.
        assert_eq!(civil(1_796_601_600), ((2026, 12, 7), (0, 0, 0)));
    }

    #[test]
    fn units_convert_rounding_down() {
        let ms = unit(&Term::atom("millisecond")).unwrap();
        assert_eq!(convert(1_999_999, NATIVE_PER_SECOND, ms), 1);
        assert_eq!(convert(-1, NATIVE_PER_SECOND, ms), -1);
        assert_eq!(convert(3, 1, NATIVE_PER_SECOND), 3_000_000_000);
        assert_eq!(unit(&Term::Int(0)), None);
        assert_eq!(unit(&Term::atom("fortnight")), None);
        let t = timestamp(1_796_601_600_123_456_789);
        assert_eq!(t.to_string(), "{1796,601600,123456}");
    }
}
