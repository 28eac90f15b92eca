//! Iterative `Hash`, consistent with the `==` of the parent module: the feed depends
//! only on the term's `==` class (spellings resolved, lists streamed through cursors,
//! integers hashed by value, map entries fed in canonical key order).

use super::{resolve, Canon, Cursor};
use crate::term::{ImproperList, InternalFun, Map, NativeRecord, Term, Terms};
use num_traits::ToPrimitive;
use std::hash::{Hash, Hasher};

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
        Term::Record(r) => {
            state.write_u8(15);
            push_record_hash(r, state, jobs);
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

fn push_record_hash<'a, H: Hasher>(
    r: &'a NativeRecord,
    state: &mut H,
    jobs: &mut Vec<HashJob<'a>>,
) {
    r.module.hash(state);
    r.name.hash(state);
    r.exported.hash(state);
    r.fields.len().hash(state);
    for (k, _) in &r.fields {
        k.hash(state);
    }
    for (_, v) in r.fields.iter().rev() {
        jobs.push(HashJob::Term(v));
    }
}

fn push_map_hash<'a, H: Hasher>(
    cx: &Canon,
    m: &'a Map,
    state: &mut H,
    jobs: &mut Vec<HashJob<'a>>,
) {
    m.len().hash(state);
    let order = cx.order(m);
    for i in (0..m.len()).rev() {
        let (k, v) = &m.0[order.get(i).copied().unwrap_or(i)];
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

impl Hash for NativeRecord {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let cx = Canon::default();
        let mut jobs = Vec::new();
        push_record_hash(self, state, &mut jobs);
        hash_run(&cx, jobs, state);
    }
}
