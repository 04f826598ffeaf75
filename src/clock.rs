//! The clock every stage reads: timestamps at the precision the store keeps.

use chrono::{DateTime, Utc};

/// Now, to the microsecond: PostgreSQL's precision, so that values read back from the store
/// compare equal to the ones written.
pub fn now() -> DateTime<Utc> {
    let t = Utc::now();
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_whole_microseconds() {
        assert_eq!(now().timestamp_subsec_nanos() % 1_000, 0);
    }
}
