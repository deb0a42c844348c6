//! Shared helpers for the cross-program tests.
