//! The core's integration tests, one binary: the closed loop end to end, every branch, bad input,
//! random command sequences (proptest), tamper detection of the hash chain, and the KPIs.
//!
//! Every test builds its cases through `workflow::apply` in a small fixture district (`helpers::World`),
//! with times given as Asia/Shanghai wall-clock text (`helpers::t`), so deadlines are checked against
//! the real working calendar.

mod bad_input;
mod branches;
mod closed_loop;
mod helpers;
mod kpis;
mod properties;
mod tampering;
