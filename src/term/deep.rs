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
//! `number < atom < reference < fun < port < pid < tuple < record < map < [] < list <
//! bitstring`,
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
//! * bitstrings bit by bit, then by length;
//! * native records (OTP 29) sort after every tuple and before every map; two records
//!   by module, name, exported flag (not exported first), number of fields, the field
//!   names in wire order, then the values in wire order (at the same level as tuple
//!   elements, so `#m:r{a = 1} == #m:r{a = 1.0}`). Checked against OTP 29's
//!   `lists:sort/1` and `<` on records built with `binary_to_term/1`.
//!
//! Atoms compare by their UTF-8 text, which is code-point order.

use super::{ImproperList, InternalFun, Map, NativeRecord, Pid, Reference, Term, Terms};
use num_bigint::BigInt;
use num_traits::FromPrimitive;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

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

/// Canonical entry orders of maps, for the one walk (or pair of walks) that owns it.
///
/// A map's canonical order sorts its entries by key: the Exact order, ties broken by
/// the Total order. Maps whose keys hold no containers are sorted on the spot each
/// time a walk reaches them. Maps with container keys (which may hold further maps)
/// are cached here by address, filled lazily: sorting such a map first sorts every
/// map inside its keys bottom-up, so a sort never needs a nested sort and nothing
/// recurses. Each map is sorted at most once per walk, and parts of a term a walk
/// never reaches (say, after an early mismatch) are never sorted.
#[derive(Default)]
struct Canon {
    orders: RefCell<HashMap<usize, Vec<usize>, BuildHasherDefault<AddrHasher>>>,
}

/// Hashes map addresses (already unique, only their low bits are regular) cheaply.
#[derive(Default)]
struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
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
            | Term::Record(_)
    )
}

impl Canon {
    fn is_sorted(&self, m: &Map) -> bool {
        m.len() < 2 || !has_container_key(m) || self.orders.borrow().contains_key(&addr(m))
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
                Term::Record(r) => {
                    stack.extend(r.fields.iter().map(|(_, v)| v).filter(|x| is_container(x)));
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
        let order = sorted_order(self, m);
        self.orders.borrow_mut().insert(addr(m), order);
    }

    /// The entry indices of `m` in canonical key order; empty means "as stored".
    ///
    /// Maps whose keys hold no containers (the usual case) are sorted on the spot:
    /// comparing their keys cannot reach another map. Others go through the cache.
    fn order(&self, m: &Map) -> Vec<usize> {
        if m.len() < 2 {
            Vec::new()
        } else if !has_container_key(m) {
            sorted_order(self, m)
        } else {
            self.ensure(m);
            self.orders
                .borrow()
                .get(&addr(m))
                .cloned()
                .unwrap_or_default()
        }
    }
}

fn has_container_key(m: &Map) -> bool {
    m.iter().any(|(k, _)| is_container(k))
}

/// `m`'s entry indices sorted by [`key_order`] (empty when already sorted). Every map
/// inside `m`'s keys must be sortable without recursion (see [`Canon::ensure`]).
fn sorted_order(cx: &Canon, m: &Map) -> Vec<usize> {
    let before = |i: usize, j: usize| key_order(cx, &m.0[i].0, &m.0[j].0);
    if (1..m.len()).all(|i| before(i - 1, i).is_le()) {
        Vec::new()
    } else {
        let mut idx: Vec<usize> = (0..m.len()).collect();
        idx.sort_by(|&i, &j| before(i, j));
        idx
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
const RANK_LIST: u8 = 11;

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
        Term::Record(_) => 8,
        Term::Map(_) => 9,
        Term::Nil => 10,
        Term::List(ts) if ts.is_empty() => 10,
        Term::List(_) | Term::ImproperList(_) => RANK_LIST,
        Term::Binary(_) | Term::BitBinary(_) => 12,
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
        (Term::Record(x), Term::Record(y)) => record_jobs(x, y, level, jobs),
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

/// Compares two records' heads (module, name, exported, size, field names) and pushes
/// their value pairs.
fn record_jobs<'a>(
    x: &'a NativeRecord,
    y: &'a NativeRecord,
    level: Level,
    jobs: &mut Vec<Job<'a>>,
) -> Ordering {
    let o = x
        .module
        .cmp(&y.module)
        .then_with(|| x.name.cmp(&y.name))
        .then(x.exported.cmp(&y.exported))
        .then(x.fields.len().cmp(&y.fields.len()))
        .then_with(|| {
            let xs = x.fields.iter().map(|(k, _)| k);
            xs.cmp(y.fields.iter().map(|(k, _)| k))
        });
    if o.is_eq() {
        for ((_, a), (_, b)) in x.fields.iter().zip(y.fields.iter()).rev() {
            jobs.push(Job::Pair(a, b, level));
        }
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
    let (ox, oy) = (cx.order(x), cx.order(y));
    let at = |m: &'a Map, o: &[usize], i: usize| &m.0[o.get(i).copied().unwrap_or(i)];
    // Popped in order: every key pair (ascending), then every value pair.
    for i in (0..x.len()).rev() {
        jobs.push(Job::Pair(&at(x, &ox, i).1, &at(y, &oy, i).1, level));
    }
    let key_level = level.for_keys();
    for i in (0..x.len()).rev() {
        jobs.push(Job::Pair(&at(x, &ox, i).0, &at(y, &oy, i).0, key_level));
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

impl PartialEq for NativeRecord {
    fn eq(&self, other: &NativeRecord) -> bool {
        let cx = Canon::default();
        let mut jobs = Vec::new();
        record_jobs(self, other, Level::Total, &mut jobs).is_eq() && run(&cx, jobs).is_eq()
    }
}
impl Eq for NativeRecord {}

mod clone;
mod debug;
mod hash;

#[cfg(test)]
mod tests;
