//! The feature-flag config (`common::flags`): a stored document (`FlagsConfig::from_json`, what
//! `FlagStore::load` reads) loads or is refused as corrupt, and one that loads writes back to a
//! document that loads to the same config; the same bytes as an admin PUT body
//! (`apply_update`) are accepted or refused, and an accepted update stores a document that loads
//! back to it. Evaluation of whatever loaded never panics.
#![no_main]

use std::collections::BTreeMap;

use common::flags::{apply_update, evaluate_all, FlagsConfig};
use libfuzzer_sys::fuzz_target;

fn reloads(cfg: &FlagsConfig, what: &str) {
    let stored = serde_json::to_vec(&cfg.to_json()).expect("serialize");
    assert_eq!(
        FlagsConfig::from_json(&stored).as_ref(),
        Ok(cfg),
        "{what} does not load back from {}",
        String::from_utf8_lossy(&stored)
    );
    for (flag, e) in evaluate_all(&cfg.effective(&BTreeMap::new()), "user-1") {
        assert!(e.rollout_pct <= 100, "{flag}: rollout {}", e.rollout_pct);
    }
}

fuzz_target!(|data: &[u8]| {
    let loaded = FlagsConfig::from_json(data);
    if let Ok(cfg) = &loaded {
        reloads(cfg, "a loaded config");
    }
    let Ok(update) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
    let current = loaded.unwrap_or_default();
    if let Ok((next, changes)) = apply_update(&current, &update, "admin@example.com", at) {
        assert_eq!(Some(next.meta.version), current.meta.version.checked_add(1));
        assert!(changes.len() <= next.flags.len());
        reloads(&next, "an accepted update");
    }
});
