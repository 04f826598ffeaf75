//! The one error type of the standardisation transforms.
//!
//! Messages are stored next to the raw value in the rejects table, so each
//! says what is wrong with the value and what was expected, in plain words.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransformError {
    #[error("unparsable date {value:?}: expected one of the formats {formats}")]
    Date { value: String, formats: String },

    #[error("not a phone number {value:?}: {reason}")]
    Phone { value: String, reason: String },

    #[error("not an e-mail address {value:?}: {reason}")]
    Email { value: String, reason: String },

    #[error("not a postcode {value:?} for country {country}: {reason}")]
    Postcode {
        value: String,
        country: String,
        reason: String,
    },

    #[error("not a person name {value:?}: {reason}")]
    Name { value: String, reason: String },

    #[error("not a number {value:?}: {reason}")]
    Number { value: String, reason: String },
}

impl TransformError {
    /// What is wrong, without the value itself: for quality findings and rejects, which keep the
    /// raw value in a column of its own, and for anything printed.
    pub fn reason(&self) -> String {
        match self {
            TransformError::Date { formats, .. } => {
                format!("unparsable date: expected one of the formats {formats}")
            }
            TransformError::Phone { reason, .. } => format!("not a phone number: {reason}"),
            TransformError::Email { reason, .. } => format!("not an e-mail address: {reason}"),
            TransformError::Postcode {
                country, reason, ..
            } => format!("not a postcode for country {country}: {reason}"),
            TransformError::Name { reason, .. } => format!("not a person name: {reason}"),
            TransformError::Number { reason, .. } => format!("not a number: {reason}"),
        }
    }

    pub(crate) fn phone(value: &str, reason: impl Into<String>) -> Self {
        TransformError::Phone {
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn email(value: &str, reason: impl Into<String>) -> Self {
        TransformError::Email {
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn name(value: &str, reason: impl Into<String>) -> Self {
        TransformError::Name {
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn postcode(value: &str, country: &str, reason: impl Into<String>) -> Self {
        TransformError::Postcode {
            value: value.to_string(),
            country: country.to_string(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_message_names_value_and_formats() {
        let e = TransformError::Date {
            value: "31/02/2020".into(),
            formats: "%d/%m/%Y, %Y-%m-%d".into(),
        };
        assert_eq!(
            e.to_string(),
            "unparsable date \"31/02/2020\": expected one of the formats %d/%m/%Y, %Y-%m-%d"
        );
    }

    #[test]
    fn helper_constructors_fill_the_fields() {
        let e = TransformError::postcode("ABC", "US", "a US ZIP code has 5 digits");
        assert_eq!(
            e.to_string(),
            "not a postcode \"ABC\" for country US: a US ZIP code has 5 digits"
        );
        let e = TransformError::phone("N/A", "it contains no digits");
        assert_eq!(
            e.to_string(),
            "not a phone number \"N/A\": it contains no digits"
        );
        assert_eq!(e.reason(), "not a phone number: it contains no digits");
        let e = TransformError::email("x", "it has no @");
        assert_eq!(e.to_string(), "not an e-mail address \"x\": it has no @");
        let e = TransformError::name("!!", "it contains no letters");
        assert_eq!(
            e.to_string(),
            "not a person name \"!!\": it contains no letters"
        );
    }
}
