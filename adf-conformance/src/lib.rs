//! Tests only: see tests/adf_schema.rs.
