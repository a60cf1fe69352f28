//! The blob gas price (EIP-4844 "Gas accounting": `get_base_fee_per_blob_gas`,
//! `calc_excess_blob_gas`, `fake_exponential`) with each fork's parameters (EIP-7840's
//! `blobSchedule` from the genesis file, else the EIPs' own: Cancun 3/6/3338477, EIP-7691's
//! Prague 6/9/5007716). What `eth_feeHistory` and the receipts' `blobGasPrice` report.

use super::genesis::BlobParams;

/// Gas per blob (EIP-4844 `GAS_PER_BLOB`).
pub const GAS_PER_BLOB: u64 = 1 << 17;

/// The least blob gas price (EIP-4844 `MIN_BASE_FEE_PER_BLOB_GAS`).
pub const MIN_BLOB_BASE_FEE: u128 = 1;

/// The parameters a fork brings when the genesis file's `blobSchedule` does not name it.
pub fn default_params(fork: &str) -> Option<BlobParams> {
    match fork {
        "cancun" => Some(BlobParams {
            target: 3,
            max: 6,
            base_fee_update_fraction: 3_338_477,
        }),
        "prague" => Some(BlobParams {
            target: 6,
            max: 9,
            base_fee_update_fraction: 5_007_716,
        }),
        _ => None,
    }
}

/// `factor · e^(numerator / denominator)`, by EIP-4844's Taylor series in integers. The terms
/// are computed in `u128` and saturate, so an absurd excess gives a huge price, never a panic;
/// a zero denominator (a broken schedule) gives `factor`.
pub fn fake_exponential(factor: u128, numerator: u128, denominator: u128) -> u128 {
    if denominator == 0 {
        return factor;
    }
    let mut output: u128 = 0;
    let mut accum = factor.saturating_mul(denominator);
    let mut i: u128 = 1;
    while accum > 0 {
        output = output.saturating_add(accum);
        accum = accum.saturating_mul(numerator) / denominator.saturating_mul(i);
        i += 1;
        // The series converges in a few hundred terms for any excess a chain can reach; an
        // input that saturates would otherwise take as many as it has bits.
        if i > 1024 {
            break;
        }
    }
    output / denominator
}

/// The blob gas price of a block with `excess` blob gas under `params`.
pub fn blob_base_fee(params: &BlobParams, excess: u64) -> u128 {
    fake_exponential(
        MIN_BLOB_BASE_FEE,
        excess as u128,
        params.base_fee_update_fraction as u128,
    )
}

/// The excess blob gas of the child of a block with `excess` and `used` blob gas, under the
/// child's `params`.
pub fn next_excess(params: &BlobParams, excess: u64, used: u64) -> u64 {
    excess
        .saturating_add(used)
        .saturating_sub(params.target.saturating_mul(GAS_PER_BLOB))
}

/// Blob gas used over the most a block may use.
pub fn used_ratio(params: &BlobParams, used: u64) -> f64 {
    let max = params.max.saturating_mul(GAS_PER_BLOB);
    if max == 0 {
        0.0
    } else {
        used as f64 / max as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// go-ethereum's vectors (consensus/misc/eip4844 tests; fixtures/README.md).
    #[test]
    fn vectors() {
        for (factor, num, den, want) in [
            (1, 0, 1, 1),
            (38493, 0, 1000, 38493),
            (0, 1234, 2345, 0),
            (1, 2, 1, 6),
            (1, 4, 2, 6),
            (1, 3, 1, 16),
            (1, 6, 2, 18),
            (1, 4, 1, 49),
            (1, 8, 2, 50),
            (10, 8, 2, 542),
            (11, 8, 2, 596),
            (1, 5, 1, 136),
            (1, 5, 2, 11),
            (2, 5, 2, 23),
            (1, 50_000_000, 2_225_652, 5_709_098_764),
        ] {
            assert_eq!(
                fake_exponential(factor, num, den),
                want,
                "{factor} {num} {den}"
            );
        }
        let p = default_params("cancun").unwrap();
        for (excess, fee) in [
            (0, 1),
            (2_314_057, 1),
            (2_314_058, 2),
            (10 * 1024 * 1024, 23),
        ] {
            assert_eq!(blob_base_fee(&p, excess), fee, "{excess}");
        }
    }

    #[test]
    fn the_price_grows_with_excess_and_never_panics() {
        let p = default_params("cancun").unwrap();
        let mut last = 0;
        for excess in (0..50_000_000).step_by(1_000_000) {
            let f = blob_base_fee(&p, excess);
            assert!(f >= last);
            last = f;
        }
        // No panic at the extremes.
        let _ = fake_exponential(u128::MAX, u128::MAX, 1);
        assert_eq!(fake_exponential(7, 1, 0), 7);
    }

    #[test]
    fn excess_moves_by_use_minus_target() {
        let p = default_params("prague").unwrap();
        assert_eq!(next_excess(&p, 0, 9 * GAS_PER_BLOB), 3 * GAS_PER_BLOB);
        assert_eq!(next_excess(&p, GAS_PER_BLOB, 0), 0);
        assert_eq!(used_ratio(&p, 9 * GAS_PER_BLOB), 1.0);
    }
}
