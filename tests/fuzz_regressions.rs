//! Every input a fuzz campaign found crashing a target, kept as a test named after what it
//! found (issue 15). The inputs live in `fixtures/fuzz/`; each runs through the same target body
//! as `make fuzz` (`fuzz/src/targets.rs`), whose model asserts the property that broke.

#[path = "../fuzz/src/targets.rs"]
#[allow(dead_code)]
mod targets;

fn input(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/fuzz")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `make fuzz-campaign` (syncer, after 77,885 inputs): an eth/70 peer sent the first page of
/// block 12's receipts, then a BlockRangeUpdate lowered its latest block to 10; the downloader
/// still asked it for the rest of block 12's receipts, a block it no longer claims. Now the
/// pages it sent are dropped and the list starts again on a peer that serves the block.
#[test]
fn syncer_receipts_page_after_head_lowered() {
    targets::syncer(&input("syncer-receipts-page-after-head-lowered"));
}

/// `tests/fuzz_smoke.rs` (tx_handler, its first run: a seeded mutation of a seed), cut by hand
/// to its five steps: peer 1 announced a transaction, the same transaction was then submitted
/// locally, and once the announcement's wait ended the handler still asked peer 1 for it,
/// though the pool had it. A local transaction now ends its fetch as a pushed one does.
#[test]
fn tx_handler_local_tx_still_fetched() {
    targets::tx_handler(&input("tx-handler-local-tx-still-fetched"));
}

/// `make fuzz-campaign` (eth_manager, after 3,682 inputs): the target's model, not the node, was
/// wrong. A peer announced as its next fork block 1000 + x while the node's own head (moved by
/// imports with sync off) had passed that block; the node refused it as stale, as EIP-2124 says,
/// where the model expected it accepted. The model now accepts such a Status only below it.
#[test]
fn eth_manager_next_fork_passed() {
    targets::eth_manager(&input("eth-manager-next-fork-passed"));
}

/// `make fuzz-campaign` (tx_fetcher, after 222,891 inputs): a peer's reply held one hash twice,
/// once with the type and size it announced and once contradicting them. The contradiction got
/// the peer disconnected and the bodies discarded, but the matching copy had already ended the
/// hash's tracking, so another announcer was asked for it while our request to a third peer was
/// still in flight (and had that request failed, nobody would have been asked). A hash any copy
/// of which contradicts the announcement is now refused whole, and stays tracked.
#[test]
fn tx_fetcher_hash_delivered_twice() {
    targets::tx_fetcher(&input("tx-fetcher-hash-delivered-twice"));
}

/// `make fuzz-campaign` (eth_manager, after 14,711 inputs, once the model above was corrected):
/// the node's EIP-2124 rule 1a differed from go-ethereum's. When a peer shares our fork hash
/// and names a next fork, go-ethereum compares a next fork below the timestamp threshold (a
/// block number) with the head's number and one above it with the head's time, whatever kind
/// of fork comes next for us; the node compared it with the head's time whenever a time fork
/// came next. The campaign's input had an impossible head (number past the fork, time not);
/// with the target's chain given real timestamps the input is cut to one step: on the chain
/// past the Merge, at head 0, a peer names block 1040 as its next fork. go-ethereum accepts
/// it (0 < 1040); the node refused it (its head's time is past 1040). It now accepts.
#[test]
fn eth_manager_block_next_in_time_fork_era() {
    targets::eth_manager(&input("eth-manager-block-next-in-time-fork-era"));
}
