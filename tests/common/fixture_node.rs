//! A node serving the fixture chain: a datadir with `fixtures/chain` imported (done once per test
//! binary, then copied per test), and the eth Status a peer on that chain sends.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::fixture_path;
use super::node_proc::{NodeProc, temp_dir};
use ethpeer::chain::genesis::Genesis;
use ethpeer::chain::header::U256;
use ethpeer::chain::spec::ChainSpec;
use ethpeer::eth::wire::handshake::{ChainHead, our_status};
use ethpeer::eth::{self, EthMessage, EthVersion, Status};

/// The fixture chain's spec, from its genesis.json.
pub fn fixture_spec() -> ChainSpec {
    let text = std::fs::read_to_string(fixture_path("chain/genesis.json")).unwrap();
    ChainSpec::from_genesis(&Genesis::from_json(&text).unwrap(), None).unwrap()
}

/// The fixture chain's head (block 600) as a Status states it.
pub fn fixture_head() -> ChainHead {
    let index = super::fixture_json("chain/chain_index.json");
    ChainHead {
        number: index["head_number"].as_u64().unwrap(),
        hash: super::h32(index["head"].as_str().unwrap()),
        time: index["head_time"].as_u64().unwrap(),
        // The genesis difficulty (0x20000), which is also the chain's terminal total
        // difficulty: the chain is past the Merge from its genesis, so the TD never grows.
        td: U256::from_u64(0x20000),
        earliest: 0,
    }
}

/// The hash of fixture block `number` (0 is the genesis).
pub fn fixture_hash(number: u64) -> [u8; 32] {
    let index = super::fixture_json("chain/chain_index.json");
    if number == 0 {
        return super::h32(index["genesis"]["hash"].as_str().unwrap());
    }
    super::h32(
        index["blocks"][number as usize - 1]["hash"]
            .as_str()
            .unwrap(),
    )
}

/// A Status for the fixture chain at its head in `version`'s form, changed by `edit`.
pub fn fixture_status(version: EthVersion, edit: impl FnOnce(&mut Status)) -> Vec<u8> {
    let mut status = our_status(version, &fixture_spec(), &fixture_head());
    edit(&mut status);
    eth::encode(version, &EthMessage::Status(status)).unwrap().1
}

/// A fresh datadir holding the imported fixture chain.
pub fn imported_datadir(name: &str) -> PathBuf {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        let dir = temp_dir("fixture-template");
        import_into(&dir, &fixture_path("chain/chain.rlp"));
        dir
    });
    let dir = temp_dir(name);
    copy_dir(template, &dir);
    dir
}

/// A fresh datadir holding the imported fixture chain and the state at its head
/// (`headstate.json`, imported with `--state`): the node's pool then checks nonces and balances.
pub fn imported_datadir_with_state(name: &str) -> PathBuf {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        let dir = temp_dir("fixture-template-state");
        import_with_state(
            &dir,
            &fixture_path("chain/chain.rlp"),
            Some(&fixture_path("chain/headstate.json")),
        );
        dir
    });
    let dir = temp_dir(name);
    copy_dir(template, &dir);
    dir
}

/// Imports `blocks` (a file of fixture blocks from block 1) with their receipts into `dir`.
pub fn import_into(dir: &Path, blocks: &Path) {
    import_with_state(dir, blocks, None);
}

/// [`import_into`], also storing the state dump `state` (`--state`) when given.
pub fn import_with_state(dir: &Path, blocks: &Path, state: Option<&Path>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ethpeer"));
    cmd.arg("import")
        .arg(blocks)
        .arg("--receipts")
        .arg(fixture_path("chain/receipts.rlp"))
        .arg("--genesis")
        .arg(fixture_path("chain/genesis.json"))
        .arg("--datadir")
        .arg(dir);
    if let Some(state) = state {
        cmd.arg("--state").arg(state);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else if e.file_name() != "LOCK" {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The genesis file argument for a node on the fixture chain.
pub fn genesis_arg() -> String {
    fixture_path("chain/genesis.json").display().to_string()
}

/// An eth peer of the fixture chain over a raw session: connects to `addr` (key from `seed`),
/// exchanges Hello offering `version`, waits for the node's Status and answers with the fixture
/// head's. Reads time out after 10 s.
pub fn fixture_eth_peer(
    addr: std::net::SocketAddr,
    remote: ethpeer::crypto::PublicKey,
    seed: u64,
    version: EthVersion,
) -> Result<super::raw_peer::RawPeer, String> {
    use super::raw_peer::{RawPeer, Read_};
    let mut p = RawPeer::connect(addr, remote, seed)?;
    p.hello(&[("eth", version.number())])
        .map_err(|e| format!("hello: {e:?}"))?;
    p.stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    loop {
        match p.recv() {
            Read_::Message(0x10, _) => break,
            Read_::Message(..) => continue,
            other => return Err(format!("no Status: {other:?}")),
        }
    }
    p.send(0x10, &fixture_status(version, |_| {}));
    Ok(p)
}

/// A node on `dir`, on the fixture chain, that syncs from `server` (its only peer, static) at
/// eth/`version`, without discovery.
pub fn syncing_node(dir: &Path, server: &NodeProc, version: u32) -> NodeProc {
    NodeProc::start(
        dir,
        &[
            "--genesis",
            &genesis_arg(),
            "--nodiscover",
            "--sync.minpeers",
            "1",
            "--eth.versions",
            &version.to_string(),
            "--staticnodes",
            &server.enode,
        ],
    )
}
