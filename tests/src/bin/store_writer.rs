//! A writer process for the crash test: rewrites large run records through the file store's
//! compare-and-swap path in a tight loop until it is killed.

use common::runs::{ModelVariant, Run, RunId, RunKind};
use common::storage::file::FileBlobStore;
use common::storage::{BlobStore, Key, StorageError};

#[tokio::main]
async fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: store_writer DIR [--no-fsync]");
        std::process::exit(2);
    };
    // `--no-fsync` makes the loop nearly all byte copying, so kills land mid-write more often; a
    // process kill (unlike power loss) needs the rename protocol, not fsync, to leave whole files.
    let store = FileBlobStore::new(dir);
    let store = if std::env::args().any(|a| a == "--no-fsync") { store.without_fsync() } else { store };
    if let Err(e) = write_forever(store).await {
        eprintln!("writer failed: {e}");
        std::process::exit(1);
    }
}

async fn write_forever(store: FileBlobStore) -> Result<(), StorageError> {
    // Two large valid records, serialised once, so the loop's time is spent writing bytes and a
    // kill lands in the middle of a write most of the time.
    let records: Vec<Vec<u8>> = (0..2)
        .map(|i| {
            let mut run = Run::queued(RunId::new(), golfiq_tests::new_run(RunKind::Video, ModelVariant::Yolov10));
            run.params = serde_json::json!({"padding": "x".repeat(8 << 20), "variant": i});
            serde_json::to_vec(&run).unwrap_or_default()
        })
        .collect();
    let keys: Vec<Key> = (0..4).filter_map(|i| Key::parse(format!("crash/{i}.json")).ok()).collect();
    for (i, key) in keys.iter().enumerate() {
        store.put(key, &records[i % 2]).await?;
    }
    println!("ready");
    for n in 0usize.. {
        let key = &keys[n % keys.len()];
        let current = store.get(key).await?;
        store.put_if_version(key, &records[n % 2], &current.version).await?;
    }
    Ok(())
}
