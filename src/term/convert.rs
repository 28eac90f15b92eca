//! Conversions between [`Term`](super::Term) and `eetf::Term`.
//! OWNED BY THE ETF WORK ITEM.
