//! config (see ARCHITECTURE.md).
pub mod cib;
