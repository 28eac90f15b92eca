//! Depth-limited `Debug` (same shape as the derived output it replaces).

use super::{is_container, MAX_DEBUG_DEPTH};
use crate::term::{ImproperList, InternalFun, Map, NativeRecord, Term, Terms};
use std::fmt;

/// Debug view of a term at nesting `depth`. Recursion is bounded by
/// [`MAX_DEBUG_DEPTH`]; deeper containers print as `...`.
struct DebugTerm<'a>(&'a Term, usize);
struct DebugTerms<'a>(&'a [Term], usize);
struct DebugEntries<'a>(&'a [(Term, Term)], usize);
struct DebugImproper<'a>(&'a ImproperList, usize);
struct DebugFun<'a>(&'a InternalFun, usize);
struct DebugRecord<'a>(&'a NativeRecord, usize);

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
            Term::Record(r) => f
                .debug_tuple("Record")
                .field(&DebugRecord(r, d + 1))
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

impl fmt::Debug for DebugRecord<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        f.debug_struct("NativeRecord")
            .field("module", &r.module)
            .field("name", &r.name)
            .field("exported", &r.exported)
            .field("fields", &DebugFields(&r.fields, self.1))
            .finish()
    }
}

struct DebugFields<'a>(&'a [(crate::term::Atom, Term)], usize);

impl fmt::Debug for DebugFields<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, v)| (k, DebugTerm(v, self.1))))
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
impl fmt::Debug for NativeRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        DebugRecord(self, 0).fmt(f)
    }
}
