//! model (see ARCHITECTURE.md).
