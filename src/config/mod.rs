//! config (see ARCHITECTURE.md).
