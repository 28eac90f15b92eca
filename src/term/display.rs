//! Erlang-syntax printing of terms (`io:format("~p")` style).
//! OWNED BY THE ETF WORK ITEM.
