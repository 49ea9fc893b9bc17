//! Run ids: UUIDs on the wire, UUIDv7 when minted here (the id carries its creation time), and
//! the sort key the run store orders them by.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// A validated run id: a UUID (any version is accepted on read; new ids are UUIDv7).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(Uuid);

/// Why a string is not a run id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("run_id must be a UUID in canonical hyphenated form")]
pub struct InvalidRunId;

impl RunId {
    /// A fresh UUIDv7 id stamped with the current time.
    pub fn new() -> Self {
        RunId(Uuid::now_v7())
    }

    /// A UUIDv7 id stamped with `at` (benchmarks and tests seed runs in the past with it).
    pub fn at(at: DateTime<Utc>) -> Self {
        let ts = uuid::Timestamp::from_unix(uuid::NoContext, at.timestamp().max(0) as u64, at.timestamp_subsec_nanos());
        RunId(Uuid::new_v7(ts))
    }

    /// Parses the canonical hyphenated form only (36 chars): anything else, including `..`, slashes,
    /// braces or URNs, is rejected before it can reach a path or key.
    pub fn parse(s: &str) -> Result<Self, InvalidRunId> {
        if s.len() != 36 || !s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            return Err(InvalidRunId);
        }
        Uuid::try_parse(s).map(RunId).map_err(|_| InvalidRunId)
    }

    /// The underlying UUID.
    pub fn uuid(&self) -> Uuid {
        self.0
    }

    /// Whether the id is a UUIDv7, i.e. carries its creation time (every id this server mints;
    /// runs imported from the original server have UUIDv4 ids).
    pub fn is_v7(&self) -> bool {
        self.0.get_version_num() == 7
    }

    /// Milliseconds since the Unix epoch carried by a UUIDv7 id (0 for other versions).
    pub fn created_ts_ms(&self) -> u64 {
        match self.0.get_timestamp() {
            Some(ts) if self.0.get_version_num() == 7 => {
                let (secs, nanos) = ts.to_unix();
                secs * 1000 + u64::from(nanos) / 1_000_000
            }
            _ => 0,
        }
    }

    /// The creation time carried by the id.
    pub fn created_at(&self) -> DateTime<Utc> {
        let ms = i64::try_from(self.created_ts_ms()).unwrap_or(0);
        Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
    }

    /// A sort key whose ascending byte order is newest-first: the bitwise complement of the id as
    /// 32 lowercase hex digits. Used by both storage backends so S3's ascending ListObjectsV2 and a
    /// sorted directory walk both yield newest first, and a key is derived from the id alone.
    pub fn sort_key(&self) -> String {
        format!("{:032x}", !self.0.as_u128())
    }

    /// The inverse of [`RunId::sort_key`].
    pub fn from_sort_key(key: &str) -> Option<Self> {
        if key.len() != 32 {
            return None;
        }
        u128::from_str_radix(key, 16).ok().map(|v| RunId(Uuid::from_u128(!v)))
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl fmt::Debug for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RunId({})", self.0.hyphenated())
    }
}

impl FromStr for RunId {
    type Err = InvalidRunId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RunId::parse(s)
    }
}

impl Serialize for RunId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RunId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RunId::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_id_parse_rejects_everything_but_a_uuid() {
        for bad in [
            "",
            "..",
            "../../etc/passwd",
            "/abs/path",
            "..%2F..",
            "{0190a0b0-0000-7000-8000-000000000000}",
            "urn:uuid:0190a0b0-0000-7000-8000-000000000000",
            "0190a0b000007000800000000000000",
            "0190a0b0-0000-7000-8000-00000000000g",
        ] {
            assert!(RunId::parse(bad).is_err(), "{bad:?} accepted");
        }
        let id = RunId::new();
        assert_eq!(RunId::parse(&id.to_string()), Ok(id));
    }

    #[test]
    fn sort_key_orders_newest_first_and_round_trips() {
        let older = RunId::at(Utc::now() - chrono::Duration::seconds(10));
        let newer = RunId::new();
        assert!(newer.sort_key() < older.sort_key());
        assert_eq!(RunId::from_sort_key(&newer.sort_key()), Some(newer));
        assert_eq!(older.created_ts_ms() / 1000, (Utc::now() - chrono::Duration::seconds(10)).timestamp() as u64);
    }
}
