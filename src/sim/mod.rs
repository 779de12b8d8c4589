//! sim (see ARCHITECTURE.md).
