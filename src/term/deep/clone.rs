//! Iterative `Clone`: copies are built bottom-up from an explicit stack.

use super::is_container;
use crate::term::{ImproperList, InternalFun, Map, NativeRecord, Term, Terms};

enum CloneJob<'a> {
    Visit(&'a Term),
    Tuple(usize),
    List(usize),
    /// `n` elements, then the tail.
    Improper(usize),
    /// `n` entries, as 2n terms: key, value, key, value, …
    Map(usize),
    Fun(&'a InternalFun),
    Record(&'a NativeRecord),
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
                Term::Record(r) => {
                    jobs.push(CloneJob::Record(r));
                    jobs.extend(r.fields.iter().rev().map(|(_, v)| CloneJob::Visit(v)));
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
            CloneJob::Record(r) => {
                let items = out.split_off(out.len() - r.fields.len());
                out.push(Term::Record(Box::new(record_with_values(r, items))));
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

fn record_with_values(r: &NativeRecord, values: Vec<Term>) -> NativeRecord {
    NativeRecord {
        module: r.module.clone(),
        name: r.name.clone(),
        exported: r.exported,
        fields: r
            .fields
            .iter()
            .map(|(k, _)| k.clone())
            .zip(values)
            .collect(),
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
        | Term::InternalFun(_)
        | Term::Record(_) => clone_terms([t]).pop().unwrap_or(Term::Nil),
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

impl Clone for NativeRecord {
    fn clone(&self) -> NativeRecord {
        record_with_values(self, clone_terms(self.fields.iter().map(|(_, v)| v)))
    }
}
