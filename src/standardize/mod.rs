//! Standardisation: the pure functions that put names, dates, phones, e-mails and addresses into
//! one canonical form, and the mappings that apply them to a source's columns.

pub mod addresses;
pub mod dates;
pub mod emails;
pub mod error;
pub mod fold;
pub mod mapping;
pub mod names;
pub mod nicknames;
pub mod phones;
pub mod phonetic;
pub mod postcodes;
pub mod transform;

pub use error::TransformError;
pub use mapping::{parse_mapping, CompiledMapping, Mapped, Mapping, RowError};
