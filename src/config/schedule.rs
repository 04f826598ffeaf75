//! The sync schedule: a cron expression, checked when the configuration loads.

use std::str::FromStr;

/// Parses a cron expression with seconds first (`"0 0 2 * * *"`: every day at 02:00).
pub fn parse_schedule(expr: &str) -> Result<cron::Schedule, String> {
    let fields = expr.split_whitespace().count();
    if fields == 5 {
        return Err(format!(
            "the schedule {expr:?} has 5 fields; gild's cron has 6 or 7 with seconds first: write \"0 {expr}\""
        ));
    }
    cron::Schedule::from_str(expr)
        .map_err(|e| format!("the schedule {expr:?} is not valid cron: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_need_seconds() {
        assert!(parse_schedule("0 0 2 * * *").is_ok());
        let err = parse_schedule("0 2 * * *").unwrap_err();
        assert!(err.contains("write \"0 0 2 * * *\""), "{err}");
        assert!(parse_schedule("every night").is_err());
    }
}
