//! The one seeded generator the sans-IO cores use (SplitMix64): cores take a seed instead of
//! reading a global RNG, so a simulation replays exactly from its seed. It is for jitter,
//! sampling and test data, never for keys (those come from the operating system).

/// Advances `state` and returns the next 64 random bits.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Fills `buf` from `state`, eight bytes at a time.
pub fn fill(state: &mut u64, buf: &mut [u8]) {
    for chunk in buf.chunks_mut(8) {
        let word = splitmix64(state).to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_fill_covers_odd_lengths() {
        let (mut a, mut b) = (42u64, 42u64);
        assert_eq!(splitmix64(&mut a), splitmix64(&mut b));
        let mut buf = [0u8; 13];
        fill(&mut a, &mut buf);
        assert!(buf.iter().any(|&x| x != 0));
        assert_ne!(splitmix64(&mut a), splitmix64(&mut 1));
    }
}
