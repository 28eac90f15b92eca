//! Iterative `Clone`, `PartialEq`/`Eq`, `Hash`, `Debug` and `Ord` for [`Term`] and its
//! containers.
//!
//! A peer may legitimately send a term nested a million levels deep (OTP decodes that
//! deep, §6), and a service may then clone it, compare it, use it as a `HashMap` key or
//! log it. Derived impls recurse once per level and would overflow the stack, aborting
//! the whole node, so every walk here keeps its own work stack on the heap.
//!
//! # Equality (`==`, Erlang's `=:=`)
//!
//! Two terms are equal when they are the same Erlang term:
//! * map entry order does not matter;
//! * list spellings that denote the same list are equal (`List([])` is `[]`,
//!   `[1 | [2]]` built by hand as an [`ImproperList`] equals `[1, 2]`);
//! * an integer is one value whether stored as [`Term::Int`] or [`Term::BigInt`];
//! * `1` and `1.0` differ; floats compare by bit pattern, so `0.0` and `-0.0` differ
//!   (as in OTP 27+, unlike OTP 25);
//! * references compare their stored words exactly (OTP would also equate `[5]` with
//!   `[5, 0, 0]`; OTP 25 always sends three words, §16.1);
//! * a [`Term::Binary`] and a [`Term::BitBinary`] differ even when they hold the same
//!   bits, and a `BitBinary`'s unused low bits take part.
//!
//! `Hash` is consistent with this: equal terms hash equally (maps feed their entries in
//! a canonical order, so the hash is order-independent).
//!
//! # Order (`Ord`)
//!
//! `Ord` is Erlang's standard term order
//! `number < atom < reference < fun < port < pid < tuple < map < [] < list < bitstring`,
//! refined into a total order that agrees with `==`. The Erlang order itself is
//! available as [`Term::erlang_cmp`]; `Ord::cmp` is `erlang_cmp` with its ties (such as
//! `1` vs `1.0`) broken deterministically: integers before floats, `-0.0` before `0.0`,
//! shorter reference word lists first, `Binary` before `BitBinary`.
//!
//! Within the Erlang order (checked against OTP 25.2.3's `erts_cmp` and a live node):
//! * integers and floats compare by exact mathematical value (`1 == 1.0`);
//! * local funs (`NEW_FUN_EXT`) sort before export funs; export funs by module,
//!   function, arity; local funs by module, old index, old uniq, number of free
//!   variables, then the free variables;
//! * ports by node, creation, then id; pids by serial, then id, then node, then
//!   creation (the order `global`'s lock ids rely on, §15 trap 8); references by node,
//!   creation, then their words zero-padded to equal length, most significant (last)
//!   word first; nodes compare as atoms;
//! * tuples by size, then element by element; lists element by element (a proper list
//!   that is a prefix of another is smaller; an improper tail compares as itself);
//! * maps by size, then by their keys in ascending order, then by the values in key
//!   order. Keys are ordered and compared *exactly*, where every integer is smaller
//!   than every float (so `#{2 => a} < #{1.0 => a}`), as OTP does;
//! * bitstrings bit by bit, then by length.
//!
//! Atoms compare by their UTF-8 text, which is code-point order.

use super::{ImproperList, InternalFun, Map, Pid, Reference, Term, Terms};
use num_bigint::BigInt;
use num_traits::{FromPrimitive, ToPrimitive};
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};

/// `[]`, for list cursors whose tail is implicit. Immutable.
static NIL: Term = Term::Nil;

/// Beyond this many nested containers `Debug` prints `...`.
pub const MAX_DEBUG_DEPTH: usize = 64;

// ---------------------------------------------------------------------------------
// Comparison levels and the canonical map order.
// ---------------------------------------------------------------------------------

/// How strictly a walk compares.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Level {
    /// Erlang's `<` / `==` (`1 == 1.0`). Map keys are compared at [`Level::Exact`].
    Erlang,
    /// Erlang's `=:=` order as used for map keys: integers before floats.
    Exact,
    /// A total order whose equality is `PartialEq`.
    Total,
}

impl Level {
    fn for_keys(self) -> Level {
        match self {
            Level::Erlang => Level::Exact,
            other => other,
        }
    }
}

/// For each map with two or more entries (by address), its entry indices sorted by
/// key: the Exact order, ties broken by the Total order (empty when the entries are
/// already in that order). Filled lazily as a walk reaches a map; sorting a map first
/// sorts every map inside its keys bottom-up, so sorting never needs to sort a nested
/// map and nothing recurses. Parts of a term a walk never reaches are never sorted.
#[derive(Default)]
struct Canon {
    orders: RefCell<HashMap<usize, Vec<usize>>>,
}

fn addr(m: &Map) -> usize {
    m as *const Map as usize
}

fn is_container(t: &Term) -> bool {
    matches!(
        t,
        Term::Tuple(_)
            | Term::List(_)
            | Term::ImproperList(_)
            | Term::Map(_)
            | Term::InternalFun(_)
    )
}

impl Canon {
    fn is_sorted(&self, m: &Map) -> bool {
        m.len() < 2 || self.orders.borrow().contains_key(&addr(m))
    }

    /// Makes the canonical order of `m` available.
    fn ensure(&self, m: &Map) {
        if self.is_sorted(m) {
            return;
        }
        self.sort_all(m.iter().map(|(k, _)| k));
        self.sort_map(m);
    }

    /// Sorts every map inside `roots`, innermost first.
    fn sort_all<'a>(&self, roots: impl IntoIterator<Item = &'a Term>) {
        let mut stack: Vec<&'a Term> = roots.into_iter().filter(|t| is_container(t)).collect();
        let mut maps: Vec<&'a Map> = Vec::new();
        while let Some(t) = stack.pop() {
            match t {
                Term::Tuple(ts) | Term::List(ts) => {
                    stack.extend(ts.iter().filter(|x| is_container(x)));
                }
                Term::ImproperList(il) => {
                    stack.extend(il.elements.iter().filter(|x| is_container(x)));
                    stack.push(&il.tail);
                }
                Term::Map(m) => {
                    if !self.is_sorted(m) {
                        maps.push(m);
                    }
                    for (k, v) in m.iter() {
                        if is_container(k) {
                            stack.push(k);
                        }
                        if is_container(v) {
                            stack.push(v);
                        }
                    }
                }
                Term::InternalFun(f) => {
                    stack.extend(f.free_vars.iter().filter(|x| is_container(x)));
                }
                _ => {}
            }
        }
        // Every map was pushed before its descendants: reversed, inner maps come first.
        for m in maps.into_iter().rev() {
            self.sort_map(m);
        }
    }

    /// Sorts `m`, whose keys hold only sorted maps.
    fn sort_map(&self, m: &Map) {
        if self.is_sorted(m) {
            return;
        }
        let before = |i: usize, j: usize| key_order(self, &m.0[i].0, &m.0[j].0);
        let order = if (1..m.len()).all(|i| before(i - 1, i).is_le()) {
            Vec::new()
        } else {
            let mut idx: Vec<usize> = (0..m.len()).collect();
            idx.sort_by(|&i, &j| before(i, j));
            idx
        };
        self.orders.borrow_mut().insert(addr(m), order);
    }

    /// The `i`-th entry of `m` in canonical key order (after [`Canon::ensure`]).
    fn entry<'a>(&self, m: &'a Map, i: usize) -> &'a (Term, Term) {
        let idx = match self.orders.borrow().get(&addr(m)) {
            Some(order) if !order.is_empty() => order[i],
            _ => i,
        };
        &m.0[idx]
    }
}

/// The order map keys are sorted in: OTP's exact order, then the total order.
fn key_order(cx: &Canon, a: &Term, b: &Term) -> Ordering {
    compare(cx, a, b, Level::Exact).then_with(|| compare(cx, a, b, Level::Total))
}

// ---------------------------------------------------------------------------------
// Shape helpers shared by the walks.
// ---------------------------------------------------------------------------------

/// Unwraps spellings of a term that are really something else: an empty `List` is
/// `[]`, an `ImproperList` without elements is its tail.
fn resolve(mut t: &Term) -> &Term {
    loop {
        match t {
            Term::List(ts) if ts.is_empty() => return &NIL,
            Term::ImproperList(il) if il.elements.is_empty() => t = &il.tail,
            _ => return t,
        }
    }
}

/// A position inside a list: the remaining elements, then the tail.
#[derive(Clone, Copy)]
struct Cursor<'a> {
    elems: &'a [Term],
    tail: &'a Term,
}

impl<'a> Cursor<'a> {
    /// The cursor at the start of a (resolved) list term.
    fn of(t: &'a Term) -> Cursor<'a> {
        match t {
            Term::List(ts) => Cursor {
                elems: ts,
                tail: &NIL,
            },
            Term::ImproperList(il) => Cursor {
                elems: &il.elements,
                tail: &il.tail,
            },
            other => Cursor {
                elems: &[],
                tail: other,
            },
        }
    }
    /// Steps into list-valued tails until an element is at hand or the tail is final.
    fn normalize(mut self) -> Cursor<'a> {
        while self.elems.is_empty() {
            match self.tail {
                Term::List(ts) => {
                    self.elems = ts;
                    self.tail = &NIL;
                }
                Term::ImproperList(il) => {
                    self.elems = &il.elements;
                    self.tail = &il.tail;
                }
                _ => break,
            }
        }
        self
    }
}

const RANK_NUMBER: u8 = 0;
const RANK_LIST: u8 = 10;

/// Position of a (resolved) term's type in Erlang's term order.
fn rank(t: &Term) -> u8 {
    match t {
        Term::Int(_) | Term::BigInt(_) | Term::Float(_) => RANK_NUMBER,
        Term::Atom(_) => 1,
        Term::Ref(_) => 2,
        Term::InternalFun(_) => 3,
        Term::ExportFun(_) => 4,
        Term::Port(_) => 5,
        Term::Pid(_) => 6,
        Term::Tuple(_) => 7,
        Term::Map(_) => 8,
        Term::Nil => 9,
        Term::List(ts) if ts.is_empty() => 9,
        Term::List(_) | Term::ImproperList(_) => RANK_LIST,
        Term::Binary(_) | Term::BitBinary(_) => 11,
    }
}

// ---------------------------------------------------------------------------------
// Scalar comparisons.
// ---------------------------------------------------------------------------------

/// An integer `i` against a float `f`, by exact value.
fn cmp_int_float(i: Result<i64, &BigInt>, f: f64) -> Ordering {
    if f.is_nan() {
        // Never on the wire; keep the order total: -NaN below, +NaN above all numbers.
        return if f.is_sign_negative() {
            Ordering::Greater
        } else {
            Ordering::Less
        };
    }
    let t = f.trunc();
    // Ordering of `f` against its integral part `t` decides ties.
    let frac = if f > t {
        Ordering::Less
    } else if f < t {
        Ordering::Greater
    } else {
        Ordering::Equal
    };
    // 2^63 as f64 is exact.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    match i {
        Ok(i) => {
            if t >= TWO_63 {
                Ordering::Less
            } else if t < -TWO_63 {
                Ordering::Greater
            } else {
                i.cmp(&(t as i64)).then(frac)
            }
        }
        Err(b) => match BigInt::from_f64(t) {
            Some(tb) => b.cmp(&tb).then(frac),
            // Infinite.
            None if f > 0.0 => Ordering::Less,
            None => Ordering::Greater,
        },
    }
}

fn cmp_numbers(a: &Term, b: &Term, level: Level) -> Ordering {
    use Term::{BigInt as B, Float as F, Int as I};
    match (a, b) {
        (I(x), I(y)) => x.cmp(y),
        (I(x), B(y)) => BigInt::from(*x).cmp(y),
        (B(x), I(y)) => x.cmp(&BigInt::from(*y)),
        (B(x), B(y)) => x.cmp(y),
        (F(x), F(y)) => match level {
            Level::Total => x.0.total_cmp(&y.0),
            _ => x.0.partial_cmp(&y.0).unwrap_or_else(|| x.0.total_cmp(&y.0)),
        },
        (I(_) | B(_), F(_)) if level != Level::Erlang => Ordering::Less,
        (F(_), I(_) | B(_)) if level != Level::Erlang => Ordering::Greater,
        (I(x), F(y)) => cmp_int_float(Ok(*x), y.0),
        (B(x), F(y)) => cmp_int_float(Err(x), y.0),
        (F(x), I(y)) => cmp_int_float(Ok(*y), x.0).reverse(),
        (F(x), B(y)) => cmp_int_float(Err(y), x.0).reverse(),
        _ => Ordering::Equal,
    }
}

fn cmp_refs(a: &Reference, b: &Reference, level: Level) -> Ordering {
    let head = a
        .node
        .cmp(&b.node)
        .then(a.creation.cmp(&b.creation))
        .then_with(|| {
            let n = a.ids.len().max(b.ids.len());
            (0..n)
                .rev()
                .map(|i| {
                    let x = a.ids.get(i).copied().unwrap_or(0);
                    let y = b.ids.get(i).copied().unwrap_or(0);
                    x.cmp(&y)
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
    if level == Level::Total {
        head.then(a.ids.len().cmp(&b.ids.len()))
    } else {
        head
    }
}

fn cmp_pids(a: &Pid, b: &Pid) -> Ordering {
    a.serial
        .cmp(&b.serial)
        .then(a.id.cmp(&b.id))
        .then_with(|| a.node.cmp(&b.node))
        .then(a.creation.cmp(&b.creation))
}

/// The bits of a bitstring and how many of them count.
fn bit_view(t: &Term) -> (&[u8], usize) {
    match t {
        Term::Binary(b) => (b, b.len() * 8),
        Term::BitBinary(bb) => match bb.bytes.len() {
            0 => (&[], 0),
            n => (&bb.bytes, (n - 1) * 8 + usize::from(bb.bits.min(8))),
        },
        _ => (&[], 0),
    }
}

fn cmp_bits(a: &Term, b: &Term, level: Level) -> Ordering {
    let (xa, la) = bit_view(a);
    let (xb, lb) = bit_view(b);
    let n = la.min(lb);
    let full = n / 8;
    let rest = n % 8;
    let mut o = xa[..full].cmp(&xb[..full]);
    if o.is_eq() && rest > 0 {
        o = (xa[full] >> (8 - rest)).cmp(&(xb[full] >> (8 - rest)));
    }
    o = o.then(la.cmp(&lb));
    if level == Level::Total {
        o = o.then_with(|| match (a, b) {
            (Term::Binary(_), Term::BitBinary(_)) => Ordering::Less,
            (Term::BitBinary(_), Term::Binary(_)) => Ordering::Greater,
            (Term::BitBinary(x), Term::BitBinary(y)) => {
                x.bits.cmp(&y.bits).then_with(|| x.bytes.cmp(&y.bytes))
            }
            _ => Ordering::Equal,
        });
    }
    o
}

fn cmp_fun_head(a: &InternalFun, b: &InternalFun, level: Level) -> Ordering {
    let o = a
        .module
        .cmp(&b.module)
        .then(a.old_index.cmp(&b.old_index))
        .then(a.old_uniq.cmp(&b.old_uniq))
        .then(a.free_vars.len().cmp(&b.free_vars.len()));
    if level == Level::Total {
        o.then(a.arity.cmp(&b.arity))
            .then(a.uniq.cmp(&b.uniq))
            .then(a.index.cmp(&b.index))
            .then_with(|| cmp_pids(&a.pid, &b.pid))
    } else {
        o
    }
}

// ---------------------------------------------------------------------------------
// The comparison walk.
// ---------------------------------------------------------------------------------

enum Job<'a> {
    Pair(&'a Term, &'a Term, Level),
    /// Two sequences of equal length, compared element by element.
    Seq(&'a [Term], &'a [Term], Level),
    List(Cursor<'a>, Cursor<'a>, Level),
}

/// Compares `a` and `b` at `level`; `cx` must cover every map inside them.
fn compare<'a>(cx: &Canon, a: &'a Term, b: &'a Term, level: Level) -> Ordering {
    let mut jobs = Vec::new();
    match step(cx, a, b, level, &mut jobs) {
        Ordering::Equal => run(cx, jobs),
        o => o,
    }
}

fn run<'a>(cx: &Canon, mut jobs: Vec<Job<'a>>) -> Ordering {
    while let Some(job) = jobs.pop() {
        let o = match job {
            Job::Pair(a, b, level) => step(cx, a, b, level, &mut jobs),
            Job::Seq(xs, ys, level) => match (xs.split_first(), ys.split_first()) {
                (Some((x, xr)), Some((y, yr))) => {
                    if !xr.is_empty() || !yr.is_empty() {
                        jobs.push(Job::Seq(xr, yr, level));
                    }
                    step(cx, x, y, level, &mut jobs)
                }
                _ => xs.len().cmp(&ys.len()),
            },
            Job::List(ca, cb, level) => step_list(cx, ca, cb, level, &mut jobs),
        };
        if o.is_ne() {
            return o;
        }
    }
    Ordering::Equal
}

/// Compares the shallow parts of `a` and `b`; pushes the pairs of children still to be
/// compared (in reverse, so the first pair is popped first).
fn step<'a>(
    cx: &Canon,
    a: &'a Term,
    b: &'a Term,
    level: Level,
    jobs: &mut Vec<Job<'a>>,
) -> Ordering {
    let a = resolve(a);
    let b = resolve(b);
    let (ra, rb) = (rank(a), rank(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    match (a, b) {
        _ if ra == RANK_NUMBER => cmp_numbers(a, b, level),
        (Term::Atom(x), Term::Atom(y)) => x.cmp(y),
        (Term::Ref(x), Term::Ref(y)) => cmp_refs(x, y, level),
        (Term::InternalFun(x), Term::InternalFun(y)) => fun_jobs(x, y, level, jobs),
        (Term::ExportFun(x), Term::ExportFun(y)) => x
            .module
            .cmp(&y.module)
            .then_with(|| x.function.cmp(&y.function))
            .then(x.arity.cmp(&y.arity)),
        (Term::Port(x), Term::Port(y)) => x
            .node
            .cmp(&y.node)
            .then(x.creation.cmp(&y.creation))
            .then(x.id.cmp(&y.id)),
        (Term::Pid(x), Term::Pid(y)) => cmp_pids(x, y),
        (Term::Tuple(x), Term::Tuple(y)) => {
            let o = x.len().cmp(&y.len());
            if o.is_eq() && !x.is_empty() {
                jobs.push(Job::Seq(x, y, level));
            }
            o
        }
        (Term::Map(x), Term::Map(y)) => map_jobs(cx, x, y, level, jobs),
        _ if ra == RANK_LIST => {
            // Pushed, not called: `step_list` steps into the heads, which may be lists.
            jobs.push(Job::List(Cursor::of(a), Cursor::of(b), level));
            Ordering::Equal
        }
        (Term::Binary(_) | Term::BitBinary(_), Term::Binary(_) | Term::BitBinary(_)) => {
            cmp_bits(a, b, level)
        }
        // `[]` against `[]`; no other pairs share a rank.
        _ => Ordering::Equal,
    }
}

fn fun_jobs<'a>(
    x: &'a InternalFun,
    y: &'a InternalFun,
    level: Level,
    jobs: &mut Vec<Job<'a>>,
) -> Ordering {
    let o = cmp_fun_head(x, y, level);
    if o.is_eq() && !x.free_vars.is_empty() {
        jobs.push(Job::Seq(&x.free_vars, &y.free_vars, level));
    }
    o
}

fn map_jobs<'a>(
    cx: &Canon,
    x: &'a Map,
    y: &'a Map,
    level: Level,
    jobs: &mut Vec<Job<'a>>,
) -> Ordering {
    let o = x.len().cmp(&y.len());
    if o.is_ne() {
        return o;
    }
    cx.ensure(x);
    cx.ensure(y);
    // Popped in order: every key pair (ascending), then every value pair.
    for i in (0..x.len()).rev() {
        jobs.push(Job::Pair(&cx.entry(x, i).1, &cx.entry(y, i).1, level));
    }
    let key_level = level.for_keys();
    for i in (0..x.len()).rev() {
        jobs.push(Job::Pair(&cx.entry(x, i).0, &cx.entry(y, i).0, key_level));
    }
    Ordering::Equal
}

fn step_list<'a>(
    cx: &Canon,
    ca: Cursor<'a>,
    cb: Cursor<'a>,
    level: Level,
    jobs: &mut Vec<Job<'a>>,
) -> Ordering {
    let ca = ca.normalize();
    let cb = cb.normalize();
    match (ca.elems.split_first(), cb.elems.split_first()) {
        (Some((x, xr)), Some((y, yr))) => {
            jobs.push(Job::List(
                Cursor {
                    elems: xr,
                    tail: ca.tail,
                },
                Cursor {
                    elems: yr,
                    tail: cb.tail,
                },
                level,
            ));
            step(cx, x, y, level, jobs)
        }
        // A final tail is never a list, so it differs from the remaining list.
        (None, Some(_)) => rank(ca.tail).cmp(&RANK_LIST),
        (Some(_), None) => RANK_LIST.cmp(&rank(cb.tail)),
        (None, None) => {
            jobs.push(Job::Pair(ca.tail, cb.tail, level));
            Ordering::Equal
        }
    }
}

impl Term {
    /// Erlang's standard term order, as `<`, `==` and `>` see it in Erlang (so
    /// `Term::Int(1)` and `Term::from(1.0)` are `Equal` here although `!=`).
    ///
    /// Iterative: safe for arbitrarily deep terms. See the module docs of
    /// `term::deep` for the exact order (checked against OTP 25).
    pub fn erlang_cmp(&self, other: &Term) -> Ordering {
        let cx = Canon::default();
        compare(&cx, self, other, Level::Erlang)
    }
}

impl PartialEq for Term {
    fn eq(&self, other: &Term) -> bool {
        let cx = Canon::default();
        compare(&cx, self, other, Level::Total).is_eq()
    }
}
impl Eq for Term {}

impl PartialOrd for Term {
    fn partial_cmp(&self, other: &Term) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Term {
    /// Erlang's term order ([`Term::erlang_cmp`]) with its ties broken so that
    /// `Equal` means `==`.
    fn cmp(&self, other: &Term) -> Ordering {
        let cx = Canon::default();
        compare(&cx, self, other, Level::Erlang)
            .then_with(|| compare(&cx, self, other, Level::Total))
    }
}

impl PartialEq for Terms {
    fn eq(&self, other: &Terms) -> bool {
        if self.len() != other.len() {
            return false;
        }
        let cx = Canon::default();
        run(&cx, vec![Job::Seq(self, other, Level::Total)]).is_eq()
    }
}
impl Eq for Terms {}

impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        if self.len() != other.len() {
            return false;
        }
        let cx = Canon::default();
        let mut jobs = Vec::new();
        map_jobs(&cx, self, other, Level::Total, &mut jobs);
        run(&cx, jobs).is_eq()
    }
}
impl Eq for Map {}

impl PartialEq for ImproperList {
    fn eq(&self, other: &ImproperList) -> bool {
        let cx = Canon::default();
        let ca = Cursor {
            elems: &self.elements,
            tail: &self.tail,
        };
        let cb = Cursor {
            elems: &other.elements,
            tail: &other.tail,
        };
        run(&cx, vec![Job::List(ca, cb, Level::Total)]).is_eq()
    }
}
impl Eq for ImproperList {}

impl PartialEq for InternalFun {
    fn eq(&self, other: &InternalFun) -> bool {
        let cx = Canon::default();
        let mut jobs = Vec::new();
        fun_jobs(self, other, Level::Total, &mut jobs).is_eq() && run(&cx, jobs).is_eq()
    }
}
impl Eq for InternalFun {}

// ---------------------------------------------------------------------------------
// Hash.
// ---------------------------------------------------------------------------------

enum HashJob<'a> {
    Term(&'a Term),
    Seq(&'a [Term]),
    List(Cursor<'a>),
}

/// Feeds every job into `state`. The feed depends only on the term's `==` class:
/// spellings are resolved, lists streamed through cursors, integers hashed by value
/// and map entries fed in canonical order.
fn hash_run<'a, H: Hasher>(cx: &Canon, mut jobs: Vec<HashJob<'a>>, state: &mut H) {
    while let Some(job) = jobs.pop() {
        match job {
            HashJob::Seq(xs) => {
                if let Some((x, rest)) = xs.split_first() {
                    if !rest.is_empty() {
                        jobs.push(HashJob::Seq(rest));
                    }
                    jobs.push(HashJob::Term(x));
                }
            }
            HashJob::List(c) => {
                let c = c.normalize();
                match c.elems.split_first() {
                    Some((x, rest)) => {
                        state.write_u8(0xC0);
                        jobs.push(HashJob::List(Cursor {
                            elems: rest,
                            tail: c.tail,
                        }));
                        jobs.push(HashJob::Term(x));
                    }
                    None => {
                        state.write_u8(0xC1);
                        jobs.push(HashJob::Term(c.tail));
                    }
                }
            }
            HashJob::Term(t) => hash_shallow(cx, resolve(t), state, &mut jobs),
        }
    }
}

fn hash_shallow<'a, H: Hasher>(
    cx: &Canon,
    t: &'a Term,
    state: &mut H,
    jobs: &mut Vec<HashJob<'a>>,
) {
    match t {
        Term::Int(i) => {
            state.write_u8(0);
            i.hash(state);
        }
        Term::BigInt(b) => match b.to_i64() {
            Some(i) => {
                state.write_u8(0);
                i.hash(state);
            }
            None => {
                state.write_u8(1);
                b.hash(state);
            }
        },
        Term::Float(f) => {
            state.write_u8(2);
            f.hash(state);
        }
        Term::Atom(a) => {
            state.write_u8(3);
            a.hash(state);
        }
        Term::Ref(r) => {
            state.write_u8(4);
            r.hash(state);
        }
        Term::Pid(p) => {
            state.write_u8(5);
            p.hash(state);
        }
        Term::Port(p) => {
            state.write_u8(6);
            p.hash(state);
        }
        Term::ExportFun(e) => {
            state.write_u8(7);
            e.hash(state);
        }
        Term::InternalFun(f) => {
            state.write_u8(8);
            hash_fun_head(f, state);
            jobs.push(HashJob::Seq(&f.free_vars));
        }
        Term::Tuple(ts) => {
            state.write_u8(9);
            ts.len().hash(state);
            jobs.push(HashJob::Seq(ts));
        }
        Term::Map(m) => {
            state.write_u8(10);
            push_map_hash(cx, m, state, jobs);
        }
        Term::Nil => state.write_u8(11),
        Term::List(_) | Term::ImproperList(_) => {
            state.write_u8(12);
            jobs.push(HashJob::List(Cursor::of(t)));
        }
        Term::Binary(b) => {
            state.write_u8(13);
            b.hash(state);
        }
        Term::BitBinary(b) => {
            state.write_u8(14);
            b.hash(state);
        }
    }
}

fn hash_fun_head<H: Hasher>(f: &InternalFun, state: &mut H) {
    f.arity.hash(state);
    f.uniq.hash(state);
    f.index.hash(state);
    f.module.hash(state);
    f.old_index.hash(state);
    f.old_uniq.hash(state);
    f.pid.hash(state);
    f.free_vars.len().hash(state);
}

fn push_map_hash<'a, H: Hasher>(
    cx: &Canon,
    m: &'a Map,
    state: &mut H,
    jobs: &mut Vec<HashJob<'a>>,
) {
    m.len().hash(state);
    cx.ensure(m);
    for i in (0..m.len()).rev() {
        let (k, v) = cx.entry(m, i);
        jobs.push(HashJob::Term(v));
        jobs.push(HashJob::Term(k));
    }
}

impl Hash for Term {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let cx = Canon::default();
        hash_run(&cx, vec![HashJob::Term(self)], state);
    }
}

impl Hash for Terms {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let cx = Canon::default();
        self.len().hash(state);
        hash_run(&cx, vec![HashJob::Seq(self)], state);
    }
}

impl Hash for Map {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let cx = Canon::default();
        let mut jobs = Vec::new();
        push_map_hash(&cx, self, state, &mut jobs);
        hash_run(&cx, jobs, state);
    }
}

impl Hash for ImproperList {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let cx = Canon::default();
        let c = Cursor {
            elems: &self.elements,
            tail: &self.tail,
        };
        hash_run(&cx, vec![HashJob::List(c)], state);
    }
}

impl Hash for InternalFun {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let cx = Canon::default();
        hash_fun_head(self, state);
        hash_run(&cx, vec![HashJob::Seq(&self.free_vars)], state);
    }
}

// ---------------------------------------------------------------------------------
// Clone.
// ---------------------------------------------------------------------------------

enum CloneJob<'a> {
    Visit(&'a Term),
    Tuple(usize),
    List(usize),
    /// `n` elements, then the tail.
    Improper(usize),
    /// `n` entries, as 2n terms: key, value, key, value, …
    Map(usize),
    Fun(&'a InternalFun),
}

/// Clones `roots` bottom-up with an explicit stack; returns the copies in order.
fn clone_terms<'a>(roots: impl IntoIterator<Item = &'a Term>) -> Vec<Term> {
    let roots: Vec<&'a Term> = roots.into_iter().collect();
    let mut out: Vec<Term> = Vec::with_capacity(roots.len());
    let mut jobs: Vec<CloneJob<'a>> = roots.into_iter().rev().map(CloneJob::Visit).collect();
    while let Some(job) = jobs.pop() {
        match job {
            CloneJob::Visit(t) => match t {
                Term::Tuple(ts) => {
                    jobs.push(CloneJob::Tuple(ts.len()));
                    jobs.extend(ts.iter().rev().map(CloneJob::Visit));
                }
                Term::List(ts) => {
                    jobs.push(CloneJob::List(ts.len()));
                    jobs.extend(ts.iter().rev().map(CloneJob::Visit));
                }
                Term::ImproperList(il) => {
                    jobs.push(CloneJob::Improper(il.elements.len()));
                    jobs.push(CloneJob::Visit(&il.tail));
                    jobs.extend(il.elements.iter().rev().map(CloneJob::Visit));
                }
                Term::Map(m) => {
                    jobs.push(CloneJob::Map(m.len()));
                    for (k, v) in m.iter().rev() {
                        jobs.push(CloneJob::Visit(v));
                        jobs.push(CloneJob::Visit(k));
                    }
                }
                Term::InternalFun(f) => {
                    jobs.push(CloneJob::Fun(f));
                    jobs.extend(f.free_vars.iter().rev().map(CloneJob::Visit));
                }
                leaf => out.push(clone_leaf(leaf)),
            },
            CloneJob::Tuple(n) => {
                let items = out.split_off(out.len() - n);
                out.push(Term::Tuple(Terms(items)));
            }
            CloneJob::List(n) => {
                let items = out.split_off(out.len() - n);
                out.push(Term::List(Terms(items)));
            }
            CloneJob::Improper(n) => {
                let mut items = out.split_off(out.len() - n - 1);
                let tail = items.pop().unwrap_or(Term::Nil);
                out.push(Term::ImproperList(ImproperList {
                    elements: Terms(items),
                    tail: Box::new(tail),
                }));
            }
            CloneJob::Map(n) => {
                let items = out.split_off(out.len() - 2 * n);
                out.push(Term::Map(Map::from_unique_entries(pair_up(items))));
            }
            CloneJob::Fun(f) => {
                let items = out.split_off(out.len() - f.free_vars.len());
                out.push(Term::InternalFun(Box::new(fun_with_vars(f, items))));
            }
        }
    }
    out
}

fn pair_up(items: Vec<Term>) -> Vec<(Term, Term)> {
    let mut entries = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        entries.push((k, v));
    }
    entries
}

fn fun_with_vars(f: &InternalFun, free_vars: Vec<Term>) -> InternalFun {
    InternalFun {
        arity: f.arity,
        uniq: f.uniq,
        index: f.index,
        module: f.module.clone(),
        old_index: f.old_index,
        old_uniq: f.old_uniq,
        pid: f.pid.clone(),
        free_vars: Terms(free_vars),
    }
}

/// Clones a term that holds no other terms.
fn clone_leaf(t: &Term) -> Term {
    match t {
        Term::Atom(a) => Term::Atom(a.clone()),
        Term::Int(i) => Term::Int(*i),
        Term::BigInt(b) => Term::BigInt(b.clone()),
        Term::Float(f) => Term::Float(*f),
        Term::Pid(p) => Term::Pid(p.clone()),
        Term::Port(p) => Term::Port(p.clone()),
        Term::Ref(r) => Term::Ref(r.clone()),
        Term::Binary(b) => Term::Binary(b.clone()),
        Term::BitBinary(b) => Term::BitBinary(b.clone()),
        Term::ExportFun(e) => Term::ExportFun(e.clone()),
        Term::Nil => Term::Nil,
        // Containers never reach here; keep the arms total without recursing.
        Term::Tuple(_)
        | Term::List(_)
        | Term::ImproperList(_)
        | Term::Map(_)
        | Term::InternalFun(_) => clone_terms([t]).pop().unwrap_or(Term::Nil),
    }
}

impl Clone for Term {
    fn clone(&self) -> Term {
        if !is_container(self) {
            return clone_leaf(self);
        }
        clone_terms([self]).pop().unwrap_or(Term::Nil)
    }
}

impl Clone for Terms {
    fn clone(&self) -> Terms {
        Terms(clone_terms(self.iter()))
    }
}

impl Clone for Map {
    fn clone(&self) -> Map {
        Map::from_unique_entries(pair_up(clone_terms(self.iter().flat_map(|(k, v)| [k, v]))))
    }
}

impl Clone for ImproperList {
    fn clone(&self) -> ImproperList {
        let mut items = clone_terms(self.elements.iter().chain([&*self.tail]));
        let tail = items.pop().unwrap_or(Term::Nil);
        ImproperList {
            elements: Terms(items),
            tail: Box::new(tail),
        }
    }
}

impl Clone for InternalFun {
    fn clone(&self) -> InternalFun {
        fun_with_vars(self, clone_terms(self.free_vars.iter()))
    }
}

// ---------------------------------------------------------------------------------
// Debug.
// ---------------------------------------------------------------------------------

/// Debug view of a term at nesting `depth`. Recursion is bounded by
/// [`MAX_DEBUG_DEPTH`]; deeper containers print as `...`.
struct DebugTerm<'a>(&'a Term, usize);
struct DebugTerms<'a>(&'a [Term], usize);
struct DebugEntries<'a>(&'a [(Term, Term)], usize);
struct DebugImproper<'a>(&'a ImproperList, usize);
struct DebugFun<'a>(&'a InternalFun, usize);

impl fmt::Debug for DebugTerm<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.1;
        if is_container(self.0) && d >= MAX_DEBUG_DEPTH {
            return f.write_str("...");
        }
        match self.0 {
            Term::Atom(a) => f.debug_tuple("Atom").field(a).finish(),
            Term::Int(i) => f.debug_tuple("Int").field(i).finish(),
            Term::BigInt(b) => f.debug_tuple("BigInt").field(b).finish(),
            Term::Float(x) => f.debug_tuple("Float").field(x).finish(),
            Term::Pid(p) => f.debug_tuple("Pid").field(p).finish(),
            Term::Port(p) => f.debug_tuple("Port").field(p).finish(),
            Term::Ref(r) => f.debug_tuple("Ref").field(r).finish(),
            Term::Binary(b) => f.debug_tuple("Binary").field(b).finish(),
            Term::BitBinary(b) => f.debug_tuple("BitBinary").field(b).finish(),
            Term::Nil => f.write_str("Nil"),
            Term::ExportFun(e) => f.debug_tuple("ExportFun").field(e).finish(),
            Term::Tuple(ts) => f
                .debug_tuple("Tuple")
                .field(&DebugTerms(ts, d + 1))
                .finish(),
            Term::List(ts) => f.debug_tuple("List").field(&DebugTerms(ts, d + 1)).finish(),
            Term::ImproperList(il) => f
                .debug_tuple("ImproperList")
                .field(&DebugImproper(il, d + 1))
                .finish(),
            Term::Map(m) => f
                .debug_tuple("Map")
                .field(&DebugEntries(m.entries(), d + 1))
                .finish(),
            Term::InternalFun(fun) => f
                .debug_tuple("InternalFun")
                .field(&DebugFun(fun, d + 1))
                .finish(),
        }
    }
}

impl fmt::Debug for DebugTerms<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Terms(")?;
        f.debug_list()
            .entries(self.0.iter().map(|t| DebugTerm(t, self.1)))
            .finish()?;
        f.write_str(")")
    }
}

impl fmt::Debug for DebugEntries<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Map(")?;
        f.debug_list()
            .entries(
                self.0
                    .iter()
                    .map(|(k, v)| (DebugTerm(k, self.1), DebugTerm(v, self.1))),
            )
            .finish()?;
        f.write_str(")")
    }
}

impl fmt::Debug for DebugImproper<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImproperList")
            .field("elements", &DebugTerms(&self.0.elements, self.1))
            .field("tail", &DebugTerm(&self.0.tail, self.1))
            .finish()
    }
}

impl fmt::Debug for DebugFun<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.0;
        f.debug_struct("InternalFun")
            .field("arity", &x.arity)
            .field("uniq", &x.uniq)
            .field("index", &x.index)
            .field("module", &x.module)
            .field("old_index", &x.old_index)
            .field("old_uniq", &x.old_uniq)
            .field("pid", &x.pid)
            .field("free_vars", &DebugTerms(&x.free_vars, self.1))
            .finish()
    }
}

impl fmt::Debug for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        DebugTerm(self, 0).fmt(f)
    }
}
impl fmt::Debug for Terms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        DebugTerms(self, 0).fmt(f)
    }
}
impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        DebugEntries(self.entries(), 0).fmt(f)
    }
}
impl fmt::Debug for ImproperList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        DebugImproper(self, 0).fmt(f)
    }
}
impl fmt::Debug for InternalFun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        DebugFun(self, 0).fmt(f)
    }
}

#[cfg(test)]
#[path = "deep_tests.rs"]
mod tests;
