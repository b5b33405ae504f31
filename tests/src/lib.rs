//! Black-box tests of the whole API (see `tests/api/`). They drive the real routers with real
//! requests over the real stores; nothing in this crate's library is used by production code.
//! The library holds what tests and benchmarks share: the contention scenario and the API over a
//! chosen store.

pub mod contention;
pub mod harness;
