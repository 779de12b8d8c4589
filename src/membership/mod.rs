//! membership (see ARCHITECTURE.md).
