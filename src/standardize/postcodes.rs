// TEMPORARY placeholder until the standardisation helper delivers postcodes.rs.
use super::error::TransformError;
pub fn standardize_postcode(raw: &str, _country: Option<&str>) -> Result<String, TransformError> {
    Ok(raw.trim().to_uppercase())
}
