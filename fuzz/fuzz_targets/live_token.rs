//! Live viewer tokens and invites (`live::signing`): any string verifies or is refused, and one
//! that verifies carries exactly the signature the key makes for what it says (so no mutation of a
//! signed token or invite is accepted unless it means the same thing), for that event only.
//!
//! The seeds (fuzz/corpus/live_token) are tokens and invites signed with `KEY` for `EVENT`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use live::signing::{mint_invite, token_signature, verify_invite, verify_token};

/// The key the seeds are signed with (fuzz/make-seeds.py).
const KEY: &[u8] = b"golfiq-fuzz-viewer-key";
const EVENT: &str = "evt1";

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    for now in [0, 1_700_000_000] {
        if let Some(v) = verify_token(KEY, EVENT, &s, now) {
            assert!(v.exp > now, "expired token {s:?} accepted");
            let sig = s.rsplit('.').next().unwrap_or_default();
            assert_eq!(
                sig,
                token_signature(KEY, &v.viewer_id, EVENT, v.exp),
                "token {s:?} accepted with another signature"
            );
            // Signed for EVENT under KEY: no other event or key opens it.
            assert!(verify_token(KEY, "evt2", &s, now).is_none(), "token {s:?} opens another event");
            assert!(verify_token(b"other-key", EVENT, &s, now).is_none(), "token {s:?} opens with another key");
        }
        if let Ok(inv) = verify_invite(KEY, &s, now) {
            assert!(inv.exp > now && !inv.event_id.is_empty(), "invite {s:?} accepted as {inv:?}");
            let minted = mint_invite(KEY, &inv.event_id, inv.exp);
            let sig = |t: &str| t.split_once('.').map(|(_, sig)| sig.to_string());
            assert_eq!(sig(&s), sig(&minted), "invite {s:?} accepted with another signature");
            assert_eq!(verify_invite(KEY, &minted, now), Ok(inv), "the re-minted invite of {s:?} is refused");
            assert!(verify_invite(b"other-key", &s, now).is_err(), "invite {s:?} opens with another key");
        }
    }
});
