//! scheduler (see ARCHITECTURE.md).
