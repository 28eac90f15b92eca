//! `rust_math`: a demo module served through rpc (docs/protocol.md §9.2), to try
//! `rpc:call`/`erpc:call` against beamnode from iex or erl:
//!
//! - `add/2`, `mul/2` — integers of any size, or floats (`error:badarith` otherwise,
//!   as `+`/`*` raise in Erlang).
//! - `fib/1` — the N-th Fibonacci number (big integers); a negative or non-integer N
//!   raises `error:badarg`.
//! - `fail/1` — raises `error(Reason)`, for seeing the error shapes.
//! - `sleep/1` — waits that many milliseconds, then returns `ok` (a long-running
//!   handler; other calls proceed meanwhile).

use super::rpc_server::{RpcException, RpcResult};
use crate::node::Node;
use crate::term::{Float, Term};
use num_bigint::BigInt;
use std::time::Duration;

/// The module name the functions are registered under.
pub const MODULE: &str = "rust_math";

/// Largest N `fib/1` accepts (keeps one call from running for minutes).
const FIB_MAX: i64 = 100_000;

/// Registers the `rust_math` functions on `node`.
pub fn register(node: &Node) {
    node.register_rpc(MODULE, "add", 2, |a| arith(&a, |x, y| x + y, |x, y| x + y));
    node.register_rpc(MODULE, "mul", 2, |a| arith(&a, |x, y| x * y, |x, y| x * y));
    node.register_rpc(MODULE, "fib", 1, |a| fib(a.first()));
    node.register_rpc(MODULE, "fail", 1, |a| {
        Err(RpcException::error(
            a.into_iter().next().unwrap_or(Term::Nil),
        ))
    });
    node.register_rpc_async(MODULE, "sleep", 1, |_, a| async move {
        match a.first().and_then(Term::as_int) {
            Some(ms) if ms >= 0 => {
                tokio::time::sleep(Duration::from_millis(ms.unsigned_abs())).await;
                Ok(Term::atom("ok"))
            }
            _ => Err(RpcException::badarg()),
        }
    });
}

enum Num {
    Int(BigInt),
    Float(f64),
}

fn num(t: &Term) -> Option<Num> {
    match t {
        Term::Int(i) => Some(Num::Int(BigInt::from(*i))),
        Term::BigInt(b) => Some(Num::Int(b.clone())),
        Term::Float(f) => Some(Num::Float(f.0)),
        _ => None,
    }
}

fn to_f64(n: &Num) -> f64 {
    match n {
        Num::Int(i) => num_traits::ToPrimitive::to_f64(i).unwrap_or(f64::NAN),
        Num::Float(f) => *f,
    }
}

fn badarith() -> RpcException {
    RpcException::error(Term::atom("badarith"))
}

fn arith(
    args: &[Term],
    int: impl Fn(BigInt, BigInt) -> BigInt,
    float: impl Fn(f64, f64) -> f64,
) -> RpcResult {
    let [a, b] = args else {
        return Err(badarith());
    };
    match (num(a).ok_or_else(badarith)?, num(b).ok_or_else(badarith)?) {
        (Num::Int(x), Num::Int(y)) => Ok(Term::from_bigint(int(x, y))),
        (x, y) => {
            let r = float(to_f64(&x), to_f64(&y));
            // Erlang floats are finite: overflow is badarith.
            if r.is_finite() {
                Ok(Term::Float(Float(r)))
            } else {
                Err(badarith())
            }
        }
    }
}

fn fib(n: Option<&Term>) -> RpcResult {
    let n = match n.and_then(Term::as_int) {
        Some(n) if (0..=FIB_MAX).contains(&n) => n,
        _ => return Err(RpcException::badarg()),
    };
    let (mut a, mut b) = (BigInt::from(0), BigInt::from(1));
    for _ in 0..n {
        let next = &a + &b;
        a = std::mem::replace(&mut b, next);
    }
    Ok(Term::from_bigint(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_and_fib() {
        let add = |a, b| arith(&[a, b], |x, y| x + y, |x, y| x + y);
        assert_eq!(add(Term::Int(1), Term::Int(2)), Ok(Term::Int(3)));
        assert_eq!(
            add(Term::Int(i64::MAX), Term::Int(1)).map(|t| t.to_string()),
            Ok("9223372036854775808".to_string())
        );
        assert_eq!(add(Term::atom("a"), Term::Int(1)), Err(badarith()));
        assert_eq!(fib(Some(&Term::Int(10))), Ok(Term::Int(55)));
        assert_eq!(fib(Some(&Term::Int(-1))), Err(RpcException::badarg()));
    }
}
