//! Integration tests of the SQLite store, in domain terms: each test opens a fresh database in a
//! temporary directory (`fixture`), drives it through the `Store` trait with explicit times, and
//! checks what a caller, or an auditor holding the file, would see.
//!
//! One test binary: the modules live in `tests/store/` (a crate root looks for modules beside
//! itself, hence the `path` attributes; files directly in `tests/` would each become a binary).

#[path = "store/concurrency.rs"]
mod concurrency;
#[path = "store/fixture.rs"]
mod fixture;
#[path = "store/grid.rs"]
mod grid;
#[path = "store/histories.rs"]
mod histories;
#[path = "store/listing.rs"]
mod listing;
#[path = "store/merging.rs"]
mod merging;
#[path = "store/migrations.rs"]
mod migrations;
#[path = "store/reference_data.rs"]
mod reference_data;
#[path = "store/refusals.rs"]
mod refusals;
#[path = "store/round_trip.rs"]
mod round_trip;
#[path = "store/tamper.rs"]
mod tamper;
