//! executor (see ARCHITECTURE.md).
