//! The feature-flag domain: the config document, validation and merge of admin updates, the
//! environment's fallbacks, and per-user evaluation (force → allowlist → sha256 bucket <
//! rolloutPercent). No I/O.
//!
//! Compatible with the original server's documents: `meta.version` may be missing (version 0),
//! `force` may be a boolean, and answers carry every field (`rolloutPercent: 0`, `allowlist: []`,
//! `force: null` when unset). What the file leaves unset, the environment may set
//! (`<FLAG>_ROLLOUT_PERCENT`/`_ROLLOUT_PCT`, `_FORCE`, `_ALLOWLIST`; [`env_settings`]); a value in
//! the file wins.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The flag that rolls callers out to the yolov11 weights when a request names no variant.
pub const MODEL_VARIANT_YOLOV11_FLAG: &str = "modelVariantYolov11";

/// Flags that exist even when no config file does (and that the environment can set).
pub const DEFAULT_FLAGS: &[&str] = &["roundFlowV2", "practiceGrowthV1", MODEL_VARIANT_YOLOV11_FLAG];

/// A forced state that overrides allowlist and rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Force {
    /// Enabled for everyone.
    ForceOn,
    /// Disabled for everyone.
    ForceOff,
}

/// One flag's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FlagSettings {
    /// Share of users (0..=100) enabled by bucket; `None` rolls out to nobody.
    pub rollout_percent: Option<u8>,
    /// Users always enabled (unless forced off).
    pub allowlist: Option<Vec<String>>,
    /// Overrides everything.
    pub force: Option<Force>,
}

/// Who changed the config last, and its version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlagsMeta {
    /// Last change, RFC 3339.
    pub updated_at: Option<String>,
    /// Admin identity of the last change (never a token).
    pub updated_by: Option<String>,
    /// Bumped by every accepted PUT; 0 for the built-in defaults (and for a document the original
    /// server wrote, which has none).
    #[serde(default)]
    pub version: u64,
}

/// The whole config document: flags by name, plus `meta`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagsConfig {
    /// Flags by name, sorted.
    pub flags: BTreeMap<String, FlagSettings>,
    /// Version and last change.
    pub meta: FlagsMeta,
}

impl Default for FlagsConfig {
    fn default() -> Self {
        FlagsConfig {
            flags: DEFAULT_FLAGS.iter().map(|f| (f.to_string(), FlagSettings::default())).collect(),
            meta: FlagsMeta::default(),
        }
    }
}

impl FlagsConfig {
    /// The JSON document: `{"<flag>": {...}, ..., "meta": {...}}`.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        for (name, settings) in &self.flags {
            map.insert(name.clone(), serde_json::to_value(settings).unwrap_or(Value::Null));
        }
        map.insert("meta".into(), serde_json::to_value(&self.meta).unwrap_or(Value::Null));
        Value::Object(map)
    }

    /// Every flag with every field set: the file's value, else the environment's (`env`), else the
    /// default (`rolloutPercent` 0, `allowlist` empty; `force` stays unset). This is what is
    /// evaluated and what the API answers; the file keeps only what was set in it.
    pub fn effective(&self, env: &BTreeMap<String, FlagSettings>) -> FlagsConfig {
        let mut flags = BTreeMap::new();
        for name in self.flags.keys().chain(env.keys()) {
            let file = self.flags.get(name).cloned().unwrap_or_default();
            let fallback = env.get(name).cloned().unwrap_or_default();
            flags.insert(
                name.clone(),
                FlagSettings {
                    rollout_percent: file.rollout_percent.or(fallback.rollout_percent).or(Some(0)),
                    allowlist: file.allowlist.or(fallback.allowlist).or_else(|| Some(Vec::new())),
                    force: file.force.or(fallback.force),
                },
            );
        }
        FlagsConfig { flags, meta: self.meta.clone() }
    }

    /// Parses a stored document (ours, or one the original server wrote: no `meta.version`,
    /// boolean `force`). A value outside the schema is corruption; a field the schema does not
    /// know is skipped (the original may have written more than it read).
    pub fn from_json(bytes: &[u8]) -> Result<FlagsConfig, String> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        let Value::Object(mut map) = value else { return Err("not a JSON object".into()) };
        let meta = match map.remove("meta") {
            Some(m) => serde_json::from_value(m).map_err(|e| format!("meta: {e}"))?,
            None => FlagsMeta::default(),
        };
        let mut config = FlagsConfig { flags: FlagsConfig::default().flags, meta };
        for (name, v) in map {
            if !valid_flag_name(&name) {
                return Err(format!("invalid flag name {name:?}"));
            }
            let settings =
                parse_settings(&name, &v, &FlagSettings::default(), Unknown::Skip).map_err(|e| e.join("; "))?;
            config.flags.insert(name, settings);
        }
        Ok(config)
    }
}

/// `^[A-Za-z][A-Za-z0-9_]{0,63}$`
pub fn valid_flag_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What to do with a field the schema does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unknown {
    /// An admin update naming it is refused (a typo must not pass silently).
    Refuse,
    /// A stored document's is skipped.
    Skip,
}

/// Validates one flag's JSON against the schema and merges it onto `base` (fields it names replace,
/// the others stay). Every problem is reported, each naming its field.
fn parse_settings(flag: &str, v: &Value, base: &FlagSettings, unknown: Unknown) -> Result<FlagSettings, Vec<String>> {
    let Value::Object(fields) = v else { return Err(vec![format!("{flag}: must be an object")]) };
    let mut out = base.clone();
    let mut errors = Vec::new();
    for (field, value) in fields {
        match field.as_str() {
            "rolloutPercent" => {
                match value {
                    Value::Null => out.rollout_percent = None,
                    Value::Number(n) => match crate::http::whole_number(n) {
                        Some(p @ 0..=100) => out.rollout_percent = Some(p as u8),
                        _ => errors
                            .push(format!("{flag}.rolloutPercent: must be an integer from 0 to 100 or null, got {n}")),
                    },
                    other => errors
                        .push(format!("{flag}.rolloutPercent: must be an integer from 0 to 100 or null, got {other}")),
                }
            }
            "allowlist" => match value {
                Value::Null => out.allowlist = None,
                Value::Array(items) => {
                    let ids: Vec<String> = items
                        .iter()
                        .filter_map(|i| i.as_str().filter(|s| !s.trim().is_empty()).map(str::to_string))
                        .collect();
                    if ids.len() == items.len() {
                        out.allowlist = Some(ids);
                    } else {
                        errors.push(format!("{flag}.allowlist: must be a list of non-empty strings or null"));
                    }
                }
                _ => errors.push(format!("{flag}.allowlist: must be a list of non-empty strings or null")),
            },
            "force" => match value {
                Value::Null => out.force = None,
                Value::String(s) if s == "force_on" => out.force = Some(Force::ForceOn),
                Value::String(s) if s == "force_off" => out.force = Some(Force::ForceOff),
                Value::Bool(true) => out.force = Some(Force::ForceOn),
                Value::Bool(false) => out.force = Some(Force::ForceOff),
                other => errors
                    .push(format!("{flag}.force: must be \"force_on\", \"force_off\", a boolean or null, got {other}")),
            },
            other if unknown == Unknown::Skip => {
                tracing::warn!(flag, field = other, "skipping an unknown field of a stored feature flag");
            }
            other => errors.push(format!("{flag}.{other}: unknown field (allowed: rolloutPercent, allowlist, force)")),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// One flag's change, for the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagChange {
    /// The flag.
    pub flag: String,
    /// Settings before (`null` for a new flag).
    pub before: Option<FlagSettings>,
    /// Settings after.
    pub after: FlagSettings,
}

/// Validates an admin update (`{"<flag>": {<fields>}, ...}`) and merges it onto `current`,
/// returning the new config (version bumped, meta stamped) and the changes. All problems are
/// reported together; nothing is applied unless everything is valid.
pub fn apply_update(
    current: &FlagsConfig,
    update: &Value,
    by: &str,
    at: DateTime<Utc>,
) -> Result<(FlagsConfig, Vec<FlagChange>), Vec<String>> {
    let Value::Object(map) = update else { return Err(vec!["body must be a JSON object of flags".into()]) };
    if map.is_empty() {
        return Err(vec!["body names no flag".into()]);
    }
    let mut next = current.clone();
    let mut changes = Vec::new();
    let mut errors = Vec::new();
    for (name, v) in map {
        if name == "meta" {
            errors.push("meta: managed by the server; remove it from the body".into());
            continue;
        }
        if !valid_flag_name(name) {
            errors.push(format!("{name:?}: invalid flag name (must match ^[A-Za-z][A-Za-z0-9_]{{0,63}}$)"));
            continue;
        }
        let before = current.flags.get(name).cloned();
        match parse_settings(name, v, &before.clone().unwrap_or_default(), Unknown::Refuse) {
            Ok(after) => {
                if before.as_ref() != Some(&after) {
                    changes.push(FlagChange { flag: name.clone(), before, after: after.clone() });
                }
                next.flags.insert(name.clone(), after);
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    next.meta = FlagsMeta {
        updated_at: Some(crate::runs::format_ts(&at)),
        updated_by: Some(by.to_string()),
        version: current.meta.version.saturating_add(1),
    };
    Ok((next, changes))
}

/// The bucket (0..100) of a user for a flag: the first 4 bytes of sha256("{flag}:{user}") as a
/// big-endian integer, mod 100. Raising a percent only adds buckets, so it never turns a user off.
pub fn bucket(flag: &str, user: &str) -> u32 {
    let digest = Sha256::digest(format!("{flag}:{user}").as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % 100
}

/// A flag evaluated for one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    /// On or off for this user.
    pub enabled: bool,
    /// The rollout percent in effect (0 when none is set).
    pub rollout_pct: u8,
    /// What decided: `force`, `allowlist` or `rollout`.
    pub source: &'static str,
    /// Why: `force_on`, `force_off`, `allowlist`, `percent` (the user's bucket against a rollout
    /// above 0) or `default_off` (no rollout).
    pub reason: &'static str,
}

/// Evaluates one flag for `user` (its settings as [`FlagsConfig::effective`] gives them): force,
/// then allowlist, then bucket < rolloutPercent.
pub fn evaluate(flag: &str, settings: &FlagSettings, user: &str) -> Evaluation {
    let rollout_pct = settings.rollout_percent.unwrap_or(0);
    let verdict = |enabled, source, reason| Evaluation { enabled, rollout_pct, source, reason };
    match settings.force {
        Some(Force::ForceOn) => return verdict(true, "force", "force_on"),
        Some(Force::ForceOff) => return verdict(false, "force", "force_off"),
        None => {}
    }
    if settings.allowlist.as_ref().is_some_and(|ids| ids.iter().any(|id| id == user)) {
        return verdict(true, "allowlist", "allowlist");
    }
    if rollout_pct == 0 {
        return verdict(false, "rollout", "default_off");
    }
    verdict(bucket(flag, user) < u32::from(rollout_pct), "rollout", "percent")
}

/// The environment's settings for the [`DEFAULT_FLAGS`], as the original server read them:
/// `<FLAG>_ROLLOUT_PERCENT` or `<FLAG>_ROLLOUT_PCT` (a number, clamped to 0-100), `<FLAG>_FORCE`
/// (`1/true/on/yes/enable/enabled` or `0/false/off/no/disable/disabled`) and `<FLAG>_ALLOWLIST`
/// (comma list), where `<FLAG>` is the flag's name in upper snake case (`ROUND_FLOW_V2`). Unset or
/// unreadable values are left unset (and logged).
pub fn env_settings(get: impl Fn(&str) -> Option<String>) -> BTreeMap<String, FlagSettings> {
    let mut out = BTreeMap::new();
    for flag in DEFAULT_FLAGS {
        let prefix = upper_snake(flag);
        let var =
            |suffix: &str| get(&format!("{prefix}_{suffix}")).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let mut settings = FlagSettings::default();
        if let Some(raw) = var("ROLLOUT_PERCENT").or_else(|| var("ROLLOUT_PCT")) {
            match raw.parse::<f64>() {
                Ok(p) if p.is_finite() => settings.rollout_percent = Some(p.clamp(0.0, 100.0).round() as u8),
                _ => tracing::warn!(flag, value = raw.as_str(), "ignoring an unreadable rollout percent"),
            }
        }
        if let Some(raw) = var("FORCE") {
            match raw.to_ascii_lowercase().as_str() {
                "1" | "true" | "on" | "yes" | "enable" | "enabled" => settings.force = Some(Force::ForceOn),
                "0" | "false" | "off" | "no" | "disable" | "disabled" => settings.force = Some(Force::ForceOff),
                _ => tracing::warn!(flag, value = raw.as_str(), "ignoring an unreadable force value"),
            }
        }
        if let Some(raw) = var("ALLOWLIST") {
            settings.allowlist =
                Some(raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect());
        }
        if settings != FlagSettings::default() {
            out.insert(flag.to_string(), settings);
        }
    }
    out
}

/// `roundFlowV2` → `ROUND_FLOW_V2`: an underscore before every capital after the first letter.
fn upper_snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Every flag of `config` evaluated for `user`.
pub fn evaluate_all(config: &FlagsConfig, user: &str) -> BTreeMap<String, Evaluation> {
    config.flags.iter().map(|(name, s)| (name.clone(), evaluate(name, s, user))).collect()
}

/// The model variant the `modelVariantYolov11` rollout picks for `user`: yolov11 when the flag is
/// on for them, else `None`, so the caller falls through to MODEL_VARIANT. The analyze endpoints
/// consult this after the request's explicit sources (header, form, query, payload) and record
/// `override_source: flag` when it decides.
pub fn rollout_model_variant(config: &FlagsConfig, user: &str) -> Option<crate::runs::ModelVariant> {
    let settings = config.flags.get(MODEL_VARIANT_YOLOV11_FLAG)?;
    evaluate(MODEL_VARIANT_YOLOV11_FLAG, settings, user).enabled.then_some(crate::runs::ModelVariant::Yolov11)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn update(current: &FlagsConfig, v: Value) -> Result<(FlagsConfig, Vec<FlagChange>), Vec<String>> {
        apply_update(current, &v, "admin", Utc::now())
    }

    #[test]
    fn bucket_vectors_follow_the_documented_formula() {
        // Computed independently: python3 -c "import hashlib;
        //   print(int.from_bytes(hashlib.sha256(b'roundFlowV2:alice').digest()[:4],'big') % 100)"
        assert_eq!(bucket("roundFlowV2", "alice"), 63);
        assert_eq!(bucket("roundFlowV2", "bob"), 52);
        assert_eq!(bucket("roundFlowV2", "anonymous"), 39);
        assert_eq!(bucket("modelVariantYolov11", "user-42"), 88);
        assert_eq!(bucket("modelVariantYolov11", "alice"), 62);
    }

    #[test]
    fn the_runbook_update_works_as_written_and_bumps_the_version() {
        let (next, changes) =
            update(&FlagsConfig::default(), json!({"roundFlowV2": {"rolloutPercent": 10}})).expect("valid");
        assert_eq!(next.flags["roundFlowV2"].rollout_percent, Some(10));
        assert_eq!(next.meta.version, 1);
        assert_eq!(next.meta.updated_by.as_deref(), Some("admin"));
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].before, Some(FlagSettings::default()));
        // Merge: naming only force keeps the percent.
        let (again, _) = update(&next, json!({"roundFlowV2": {"force": "force_off"}})).expect("valid");
        assert_eq!(again.flags["roundFlowV2"].rollout_percent, Some(10));
        assert_eq!(again.flags["roundFlowV2"].force, Some(Force::ForceOff));
        assert_eq!(again.meta.version, 2);
    }

    #[test]
    fn every_validation_rule_rejects_and_names_its_field() {
        let base = FlagsConfig::default();
        let cases = [
            (json!({"f": {"rolloutPercent": true}}), "f.rolloutPercent"),
            (json!({"f": {"rolloutPercent": 10.5}}), "f.rolloutPercent"),
            (json!({"f": {"rolloutPercent": "10"}}), "f.rolloutPercent"),
            (json!({"f": {"rolloutPercent": 101}}), "f.rolloutPercent"),
            (json!({"f": {"rolloutPercent": -1}}), "f.rolloutPercent"),
            (json!({"f": {"allowlist": ["a", ""]}}), "f.allowlist"),
            (json!({"f": {"allowlist": [1]}}), "f.allowlist"),
            (json!({"f": {"allowlist": "a"}}), "f.allowlist"),
            (json!({"f": {"force": "on"}}), "f.force"),
            (json!({"f": {"rollout": 5}}), "f.rollout"),
            (json!({"f": 5}), "f: must be an object"),
            (json!({"9lives": {}}), "invalid flag name"),
            (json!({"has-dash": {}}), "invalid flag name"),
            (json!({"a".repeat(65): {}}), "invalid flag name"),
            (json!({"meta": {"version": 9}}), "meta"),
            (json!({}), "names no flag"),
            (json!([1]), "JSON object"),
        ];
        for (body, needle) in cases {
            let errs = update(&base, body.clone()).expect_err(&body.to_string());
            assert!(errs.iter().any(|e| e.contains(needle)), "{body}: {errs:?}");
        }
        // Several problems at once are all reported, and nothing is applied.
        let errs =
            update(&base, json!({"f": {"rolloutPercent": "x", "bogus": 1}, "g": {"force": 1}})).expect_err("bad");
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(update(&base, json!({"f": {"rolloutPercent": 0, "allowlist": null, "force": null}})).is_ok());
        assert!(update(&base, json!({"A_1": {"rolloutPercent": 100}})).is_ok());
        // JSON Schema's integer: a whole number written with a fraction part is one.
        let (cfg, _) = update(&base, json!({"f": {"rolloutPercent": 10.0}})).expect("10.0 is 10");
        assert_eq!(cfg.flags["f"].rollout_percent, Some(10));
    }

    #[test]
    fn evaluation_order_is_force_then_allowlist_then_bucket() {
        let user = "alice"; // bucket 63 for roundFlowV2
        let s = |pct: Option<u8>, allow: Option<Vec<&str>>, force: Option<Force>| FlagSettings {
            rollout_percent: pct,
            allowlist: allow.map(|a| a.into_iter().map(String::from).collect()),
            force,
        };
        let e = evaluate("roundFlowV2", &s(Some(100), Some(vec![user]), Some(Force::ForceOff)), user);
        assert_eq!((e.enabled, e.source, e.reason), (false, "force", "force_off"));
        let e = evaluate("roundFlowV2", &s(Some(0), None, Some(Force::ForceOn)), user);
        assert_eq!((e.enabled, e.source, e.reason), (true, "force", "force_on"));
        let e = evaluate("roundFlowV2", &s(Some(0), Some(vec![user]), None), user);
        assert_eq!((e.enabled, e.source, e.reason), (true, "allowlist", "allowlist"));
        let e = evaluate("roundFlowV2", &s(Some(64), None, None), user);
        assert_eq!((e.enabled, e.source, e.reason, e.rollout_pct), (true, "rollout", "percent", 64));
        let e = evaluate("roundFlowV2", &s(Some(63), None, None), user);
        assert_eq!((e.enabled, e.reason), (false, "percent"));
        let e = evaluate("roundFlowV2", &s(None, None, None), user);
        assert_eq!((e.enabled, e.source, e.reason, e.rollout_pct), (false, "rollout", "default_off", 0));
    }

    #[test]
    fn a_document_the_original_server_wrote_loads() {
        // No meta.version, boolean force, null fields, a field this server does not know.
        let doc = br#"{"roundFlowV2": {"rolloutPercent": 25, "allowlist": null, "force": null},
            "practiceGrowthV1": {"force": true}, "modelVariantYolov11": {"force": false, "notes": "x"},
            "meta": {"updatedAt": "2026-10-01T12:00:00Z", "updatedBy": "ops"}}"#;
        let cfg = FlagsConfig::from_json(doc).expect("loads");
        assert_eq!(cfg.meta.version, 0);
        assert_eq!(cfg.flags["roundFlowV2"].rollout_percent, Some(25));
        assert_eq!(cfg.flags["practiceGrowthV1"].force, Some(Force::ForceOn));
        assert_eq!(cfg.flags["modelVariantYolov11"].force, Some(Force::ForceOff));
        // Still corrupt: a value outside the schema.
        assert!(FlagsConfig::from_json(br#"{"f": {"rolloutPercent": 101}}"#).is_err());
        // An admin update naming an unknown field is still refused, a boolean force accepted.
        assert!(update(&cfg, json!({"f": {"notes": "x"}})).is_err());
        assert!(update(&cfg, json!({"f": {"force": true}})).is_ok());
    }

    #[test]
    fn answers_carry_every_field_and_the_file_wins_over_the_environment() {
        let env = env_settings(|k| {
            match k {
                "ROUND_FLOW_V2_ROLLOUT_PCT" => Some("150"),
                "ROUND_FLOW_V2_ALLOWLIST" => Some(" a, b ,,c "),
                "PRACTICE_GROWTH_V1_ROLLOUT_PERCENT" => Some("12.4"),
                "PRACTICE_GROWTH_V1_ROLLOUT_PCT" => Some("99"),
                "PRACTICE_GROWTH_V1_FORCE" => Some("Enabled"),
                "MODEL_VARIANT_YOLOV11_FORCE" => Some("maybe"),
                _ => None,
            }
            .map(String::from)
        });
        assert_eq!(env["roundFlowV2"].rollout_percent, Some(100), "clamped");
        assert_eq!(env["roundFlowV2"].allowlist, Some(vec!["a".into(), "b".into(), "c".into()]));
        assert_eq!(env["practiceGrowthV1"].rollout_percent, Some(12), "_ROLLOUT_PERCENT first");
        assert_eq!(env["practiceGrowthV1"].force, Some(Force::ForceOn));
        assert!(!env.contains_key("modelVariantYolov11"), "an unreadable value sets nothing");
        let (file, _) = update(&FlagsConfig::default(), json!({"roundFlowV2": {"rolloutPercent": 10}})).expect("valid");
        let eff = file.effective(&env);
        assert_eq!(eff.flags["roundFlowV2"].rollout_percent, Some(10), "the file wins");
        assert_eq!(
            eff.flags["roundFlowV2"].allowlist.as_ref().map(Vec::len),
            Some(3),
            "the environment fills the rest"
        );
        let answer = eff.to_json();
        assert_eq!(answer["modelVariantYolov11"], json!({"rolloutPercent": 0, "allowlist": [], "force": null}));
        assert_eq!(answer["meta"], json!({"updatedAt": file.meta.updated_at, "updatedBy": "admin", "version": 1}));
        assert_eq!(
            FlagsConfig::default().effective(&BTreeMap::new()).to_json()["meta"],
            json!({"updatedAt": null, "updatedBy": null, "version": 0})
        );
        assert_eq!(upper_snake("modelVariantYolov11"), "MODEL_VARIANT_YOLOV11");
    }

    #[test]
    fn the_model_rollout_flag_picks_yolov11_for_its_share_only() {
        use crate::runs::ModelVariant;
        let off = FlagsConfig::default();
        assert_eq!(rollout_model_variant(&off, "alice"), None, "default config rolls out to nobody");
        // Buckets for modelVariantYolov11: alice 62, user-42 88.
        let (cfg, _) = update(&off, json!({"modelVariantYolov11": {"rolloutPercent": 70}})).expect("valid");
        assert_eq!(rollout_model_variant(&cfg, "alice"), Some(ModelVariant::Yolov11));
        assert_eq!(rollout_model_variant(&cfg, "user-42"), None);
        let share = (0..1000).filter(|i| rollout_model_variant(&cfg, &format!("u{i}")).is_some()).count();
        assert!((620..=780).contains(&share), "about 70% of users, got {share}/1000");
    }

    #[test]
    fn raising_the_percent_never_turns_a_user_off() {
        let users: Vec<String> = (0..500).map(|i| format!("user-{i}")).collect();
        let mut previously_on = std::collections::HashSet::new();
        for pct in 0..=100u8 {
            let s = FlagSettings { rollout_percent: Some(pct), ..Default::default() };
            let on: std::collections::HashSet<_> = users.iter().filter(|u| evaluate("f", &s, u).enabled).collect();
            assert!(previously_on.is_subset(&on), "raising to {pct} turned someone off");
            previously_on = on;
        }
        assert_eq!(previously_on.len(), users.len(), "100% is everyone");
    }

    #[test]
    fn stored_documents_round_trip_and_foreign_ones_are_corrupt() {
        let (cfg, _) = update(&FlagsConfig::default(), json!({"x": {"allowlist": ["u1"]}})).expect("valid");
        let bytes = serde_json::to_vec(&cfg.to_json()).expect("json");
        assert_eq!(FlagsConfig::from_json(&bytes).expect("parse"), cfg);
        for bad in [&b"{not json"[..], b"[]", br#"{"f": {"rolloutPercent": "10"}}"#, br#"{"meta": {"version": "x"}}"#] {
            assert!(FlagsConfig::from_json(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
