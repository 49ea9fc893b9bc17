//! The storage conformance suite: what every [`BlobStore`] backend must do, run against each one.

use common::storage::{BlobStore, Key, StorageError, Version};

fn key(s: &str) -> Key {
    Key::parse(s).unwrap_or_else(|e| panic!("test key invalid: {e}"))
}

/// Runs every check against `store`, which must be empty under `conf/`.
pub async fn blob_store_conformance(store: &dyn BlobStore) {
    // Missing keys are a typed NotFound.
    assert!(matches!(store.get(&key("conf/missing")).await, Err(StorageError::NotFound(_))));

    // put_if_absent creates once.
    let v1 = store.put_if_absent(&key("conf/a"), b"one").await.expect("create");
    assert!(matches!(store.put_if_absent(&key("conf/a"), b"two").await, Err(StorageError::AlreadyExists(_))));
    let blob = store.get(&key("conf/a")).await.expect("read back");
    assert_eq!((blob.bytes.as_slice(), &blob.version), (&b"one"[..], &v1));

    // put_if_version succeeds on the current version only.
    let v2 = store.put_if_version(&key("conf/a"), b"two", &v1).await.expect("cas with current version");
    assert_ne!(v1, v2);
    assert!(matches!(store.put_if_version(&key("conf/a"), b"three", &v1).await, Err(StorageError::VersionMismatch(_))));
    assert_eq!(store.get(&key("conf/a")).await.expect("read").bytes, b"two");
    let missing = store.put_if_version(&key("conf/nope"), b"x", &Version("v".into())).await;
    assert!(matches!(missing, Err(StorageError::NotFound(_) | StorageError::VersionMismatch(_))));

    // Deletes are idempotent.
    store.delete(&key("conf/a")).await.expect("delete");
    store.delete(&key("conf/a")).await.expect("delete again");
    assert!(matches!(store.get(&key("conf/a")).await, Err(StorageError::NotFound(_))));

    // Listing is ascending byte order across nesting, like S3 (`x.b` sorts before `x/...`).
    let names = ["conf/l/x/2", "conf/l/x.b", "conf/l/x/1", "conf/l/a", "conf/l/y/z/0", "conf/l/x0", "conf/l/B"];
    for n in names {
        store.put(&key(n), n.as_bytes()).await.expect("put");
    }
    let mut expected: Vec<&str> = names.to_vec();
    expected.sort_unstable();
    let all = store.list("conf/l/", None, 100).await.expect("list");
    assert_eq!(all.keys.iter().map(Key::as_str).collect::<Vec<_>>(), expected);
    assert!(!all.truncated);

    // Paging with start_after and limit visits each key once, in order.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.list("conf/l/", after.as_deref(), 2).await.expect("page");
        assert!(page.keys.len() <= 2);
        seen.extend(page.keys.iter().map(|k| k.as_str().to_string()));
        after = page.keys.last().map(|k| k.to_string());
        if !page.truncated {
            break;
        }
    }
    assert_eq!(seen, expected);

    // The stamped listing names the same keys, each with a last-write time no later than now (a
    // generous minute of clock skew allowed for a remote server) and recent.
    let stamped = store.list_stamped("conf/l/", None, 100).await.expect("stamped list");
    assert_eq!(stamped.entries.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), expected);
    let now = chrono::Utc::now();
    for e in &stamped.entries {
        let age = now - e.modified;
        assert!(age > -chrono::Duration::minutes(1) && age < chrono::Duration::minutes(10), "{}: {age}", e.key);
    }
    let page = store.list_stamped("conf/l/", Some("conf/l/a"), 2).await.expect("stamped page");
    assert_eq!((page.entries.len(), page.truncated), (2, true));

    // start_after between keys and inside a subtree.
    let tail = store.list("conf/l/", Some("conf/l/x/1"), 100).await.expect("tail");
    assert_eq!(tail.keys.first().map(Key::as_str), Some("conf/l/x/2"));
    let empty = store.list("conf/none/", None, 10).await.expect("empty prefix");
    assert!(empty.keys.is_empty() && !empty.truncated);

    // Prefixes must be directory-like.
    assert!(store.list("conf/l", None, 10).await.is_err());
    assert!(store.list("../", None, 10).await.is_err());
}
