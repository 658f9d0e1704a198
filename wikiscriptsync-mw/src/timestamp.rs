//! MediaWiki's timestamps as the Action API writes them (`2026-01-31T23:59:59Z`: ISO 8601 in
//! UTC, to the second), typed so that what a probe or lookup reports is sent back unchanged as
//! `starttimestamp`, and so callers compare and convert times instead of strings.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};

/// How the Action API writes a timestamp: `wfTimestamp( TS_ISO_8601 )`, `Y-m-d\TH:i:s\Z` in
/// PHP's terms (MediaWiki 1.39 `ApiMain` for `curtimestamp`, `ApiResult::formatExpiry`).
const FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";
/// The shape of [`FORMAT`], byte by byte: `d` is an ASCII digit, anything else itself.
const SHAPE: &[u8; 20] = b"dddd-dd-ddTdd:dd:ddZ";

/// Why a string is not a MediaWiki timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is not a MediaWiki timestamp: expected ISO 8601 in UTC to the second, such as \
     2026-01-31T23:59:59Z"
)]
pub struct TimestampError {
    /// What was given, cut to 40 characters (timestamps are not secret).
    pub input: String,
}

/// A point in time as MediaWiki reports it: a revision's `timestamp`, the server's
/// `curtimestamp`, an edit's `newtimestamp`.
///
/// It parses exactly the Action API's form, `YYYY-MM-DDTHH:MM:SSZ`, and prints exactly what it
/// parsed, so a [`crate::Probe::server_time`] handed to [`crate::EditRequest::start_timestamp`]
/// reaches the wiki as the wiki wrote it. It converts to and from [`chrono::DateTime<Utc>`]
/// (sub-second parts are dropped: MediaWiki keeps whole seconds).
///
/// ```
/// use wikiscriptsync_mw::Timestamp;
///
/// let at = Timestamp::parse("2026-01-31T23:59:59Z")?;
/// assert_eq!(at.to_string(), "2026-01-31T23:59:59Z");
/// assert_eq!(at.as_datetime().timestamp(), 1_769_903_999);
/// assert!(Timestamp::parse("2026-01-31 23:59:59").is_err());
/// # Ok::<(), wikiscriptsync_mw::TimestampError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// Parses the Action API's form, `YYYY-MM-DDTHH:MM:SSZ`, and nothing else (no offsets, no
    /// fractions, no other separators), so that printing it gives back the same string.
    ///
    /// # Errors
    ///
    /// [`TimestampError`] for any other string, or an impossible date or time.
    pub fn parse(input: &str) -> Result<Self, TimestampError> {
        let shaped = input.len() == SHAPE.len()
            && input.bytes().zip(SHAPE).all(|(byte, &shape)| match shape {
                b'd' => byte.is_ascii_digit(),
                other => byte == other,
            });
        shaped
            .then(|| NaiveDateTime::parse_from_str(input, FORMAT).ok())
            .flatten()
            .map(|naive| Self(naive.and_utc()))
            .ok_or_else(|| TimestampError {
                input: input.chars().take(40).collect(),
            })
    }

    /// The time as a [`chrono::DateTime<Utc>`].
    pub fn as_datetime(&self) -> DateTime<Utc> {
        self.0
    }
}

impl From<DateTime<Utc>> for Timestamp {
    /// The second `time` falls in (MediaWiki keeps no fractions of a second).
    fn from(time: DateTime<Utc>) -> Self {
        Self(DateTime::from_timestamp(time.timestamp(), 0).unwrap_or(time))
    }
}

impl From<Timestamp> for DateTime<Utc> {
    fn from(time: Timestamp) -> Self {
        time.0
    }
}

impl fmt::Display for Timestamp {
    /// The Action API's form, `YYYY-MM-DDTHH:MM:SSZ`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format(FORMAT))
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_form_round_trips_exactly() {
        for input in [
            "2026-01-01T00:00:00Z",
            "2001-01-15T14:56:00Z",
            "2024-02-29T12:00:00Z",
            "1970-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            let parsed = Timestamp::parse(input).unwrap();
            assert_eq!(parsed.to_string(), input);
            assert_eq!(input.parse::<Timestamp>().unwrap(), parsed);
        }
    }

    #[test]
    fn other_forms_and_impossible_times_are_refused() {
        for input in [
            "",
            "2026-01-01",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00+00:00",
            "2026-01-01T00:00:00.5Z",
            "2026-01-01 00:00:00Z",
            "2026-1-01T00:00:00Zx",
            "+026-01-01T00:00:00Z",
            "20260101000000",
            "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:60:00Z",
            "２０２６-01-01T00:00:00Z",
            "infinite",
        ] {
            assert!(Timestamp::parse(input).is_err(), "{input:?} was accepted");
        }
        let long = "9".repeat(100);
        let error = Timestamp::parse(&long).unwrap_err();
        assert_eq!(error.input.len(), 40);
        assert!(error.to_string().contains("2026-01-31T23:59:59Z"));
    }

    #[test]
    fn it_converts_to_and_from_chrono_in_whole_seconds() {
        let at = Timestamp::parse("2026-01-31T23:59:59Z").unwrap();
        let time: DateTime<Utc> = at.into();
        assert_eq!(time.timestamp(), 1_769_903_999);
        let with_fraction = time + chrono::Duration::milliseconds(750);
        assert_eq!(Timestamp::from(with_fraction), at);
        assert!(at < Timestamp::parse("2026-02-01T00:00:00Z").unwrap());
    }
}
