//! The blob gas rules (EIP-4844, EIP-7691's Prague parameters, EIP-7840's schedule) against the
//! fixture chain's headers: every block's `excessBlobGas` is what its parent's excess and use
//! give under the child's fork (Cancun from block 6, Prague from block 12), with the schedule
//! from genesis.json and with the EIPs' defaults alone, and no pre-Cancun header has one.

mod common;

use common::fixture_chain::fixture_chain;
use common::fixture_node::fixture_spec;
use ethpeer::chain::blob_fee::{blob_base_fee, next_excess};
use ethpeer::chain::header::Header;

#[test]
fn every_excess_follows_from_the_parent_under_the_childs_fork() {
    let chain = fixture_chain();
    let from_file = fixture_spec();
    assert_eq!(
        from_file.blob_schedule.len(),
        2,
        "genesis.json has cancun and prague"
    );
    let mut defaults = fixture_spec();
    defaults.blob_schedule.clear();
    let headers: Vec<Header> = chain
        .headers
        .iter()
        .map(|h| Header::decode(h).unwrap())
        .collect();
    let mut checked = 0;
    for spec in [&from_file, &defaults] {
        for pair in headers.windows(2) {
            let (parent, child) = (&pair[0], &pair[1]);
            let Some(params) = spec.blob_params_at(child.timestamp) else {
                assert!(child.excess_blob_gas.is_none(), "block {}", child.number);
                continue;
            };
            let want = child
                .excess_blob_gas
                .expect("a Cancun header has excessBlobGas");
            let got = next_excess(
                &params,
                parent.excess_blob_gas.unwrap_or(0),
                parent.blob_gas_used.unwrap_or(0),
            );
            assert_eq!(got, want, "block {}", child.number);
            checked += 1;
            assert!(blob_base_fee(&params, want) >= 1);
        }
    }
    // Both forks' blocks were checked (the chain carries no blob transactions, so its excess
    // stays 0: the arithmetic itself is checked by the unit vectors in chain/blob_fee.rs).
    assert_eq!(checked, 2 * (600 - 5), "{checked}");
    assert_eq!(from_file.blob_params_at(59), None);
    assert_eq!(from_file.blob_params_at(60).unwrap().target, 3);
    assert_eq!(from_file.blob_params_at(120).unwrap().target, 6);
}
