//! Merkle-Patricia trie roots (Ethereum Yellow Paper, appendix D "Modified Merkle Patricia
//! Tree"), computed from a complete set of key/value pairs.
//!
//! ethpeer never stores a trie: it only needs the root of a known set of items, to check a
//! block's `transactionsRoot`, `receiptsRoot` and `withdrawalsRoot` ([`ordered_trie_root`]) and
//! to build a genesis state root ([`secure_trie_root`]). So the trie is not built node by node:
//! the keys are sorted, and the node for a run of keys that share a prefix is encoded directly
//! from that run (a leaf for one key, an extension for a longer shared prefix, a branch
//! otherwise). The root is the same as that of a trie built by insertions.
//!
//! Node encoding (appendix D): a leaf is `rlp([hex-prefix(path, leaf), value])`, an extension
//! `rlp([hex-prefix(path, extension), child])`, a branch `rlp([child0..child15, value])`. A child
//! whose encoding is shorter than 32 bytes is embedded as-is; a longer one is replaced by the
//! keccak-256 of its encoding. The root is always the hash of the root node's encoding.

use std::collections::BTreeMap;

use rlp::RlpStream;

use crate::crypto::keccak256;

/// The root of the empty trie: keccak256(rlp("")) = keccak256(0x80).
pub const EMPTY_ROOT: [u8; 32] = [
    0x56, 0xe8, 0x1f, 0x17, 0x1b, 0xcc, 0x55, 0xa6, 0xff, 0x83, 0x45, 0xe6, 0x92, 0xc0, 0xf8, 0x6e,
    0x5b, 0x48, 0xe0, 0x1b, 0x99, 0x6c, 0xad, 0xc0, 0x01, 0x62, 0x2f, 0xb5, 0xe3, 0x63, 0xb4, 0x21,
];

/// The root of a trie holding `items`. A later duplicate key replaces an earlier one, and an
/// empty value means "absent", as inserting an empty value deletes a key in a live trie.
///
/// Recursion goes one level per key nibble at most, so the stack depth is bounded by twice the
/// longest key in bytes; the keys are ours (transaction indexes, hashed addresses and slots).
pub fn trie_root<K, V>(items: impl IntoIterator<Item = (K, V)>) -> [u8; 32]
where
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let map: BTreeMap<Vec<u8>, V> = items
        .into_iter()
        .map(|(k, v)| (k.as_ref().to_vec(), v))
        .collect();
    // Sorting bytes sorts their nibble expansions the same way, so the runs below stay sorted.
    let entries: Vec<(Vec<u8>, &[u8])> = map
        .iter()
        .filter(|(_, v)| !v.as_ref().is_empty())
        .map(|(k, v)| (nibbles(k), v.as_ref()))
        .collect();
    if entries.is_empty() {
        return EMPTY_ROOT;
    }
    keccak256(&encode_node(&entries, 0))
}

/// The root of a "secure" trie: every key is replaced by its keccak-256 first, as in the state
/// trie (keys are addresses) and storage tries (keys are 32-byte slots).
pub fn secure_trie_root<K, V>(items: impl IntoIterator<Item = (K, V)>) -> [u8; 32]
where
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    trie_root(items.into_iter().map(|(k, v)| (keccak256(k.as_ref()), v)))
}

/// The root of a list trie, where item `i` sits under the key `rlp(i)`: the
/// `transactionsRoot`, `receiptsRoot` and `withdrawalsRoot` of a block (Yellow Paper section 4.4.2).
/// Each value is the item's consensus encoding.
pub fn ordered_trie_root<V: AsRef<[u8]>>(values: &[V]) -> [u8; 32] {
    trie_root(
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (rlp::encode(&(i as u64)), v.as_ref())),
    )
}

/// The nibbles (half-bytes, high first) of a key.
fn nibbles(key: &[u8]) -> Vec<u8> {
    key.iter().flat_map(|b| [b >> 4, b & 0x0f]).collect()
}

/// Hex-prefix encoding (appendix C): a flag nibble (2 for a leaf, plus 1 when the path length is
/// odd), then the path; an even path gets a zero pad nibble after the flag.
fn hex_prefix(path: &[u8], leaf: bool) -> Vec<u8> {
    let flag = if leaf { 2 } else { 0 };
    let mut out = Vec::with_capacity(path.len() / 2 + 1);
    let rest = match path.split_first() {
        Some((&first, rest)) if path.len() % 2 == 1 => {
            out.push((flag + 1) << 4 | first);
            rest
        }
        _ => {
            out.push(flag << 4);
            path
        }
    };
    out.extend(rest.chunks(2).map(|p| match p {
        [hi, lo] => hi << 4 | lo,
        [hi, ..] => hi << 4,
        [] => 0,
    }));
    out
}

/// The encoding of the node holding `entries` (non-empty, sorted, distinct nibble keys), whose
/// first `depth` nibbles are already consumed by the path above it.
fn encode_node(entries: &[(Vec<u8>, &[u8])], depth: usize) -> Vec<u8> {
    let (first_key, first_value) = match entries {
        [only] => {
            let mut s = RlpStream::new_list(2);
            s.append(&hex_prefix(only.0.get(depth..).unwrap_or_default(), true));
            s.append(&only.1);
            return s.out().to_vec();
        }
        [first, ..] => (&first.0, first.1),
        [] => return rlp::NULL_RLP.to_vec(),
    };
    // The keys are sorted, so the prefix shared by all of them is the one the first and the last
    // share.
    let last_key = entries.last().map(|e| &e.0).unwrap_or(first_key);
    let shared = first_key
        .get(depth..)
        .unwrap_or_default()
        .iter()
        .zip(last_key.get(depth..).unwrap_or_default())
        .take_while(|(a, b)| a == b)
        .count();
    if shared > 0 {
        let mut s = RlpStream::new_list(2);
        s.append(&hex_prefix(
            first_key.get(depth..depth + shared).unwrap_or_default(),
            false,
        ));
        append_child(&mut s, encode_node(entries, depth + shared));
        return s.out().to_vec();
    }
    // A branch. A key that ends here is a prefix of every other key, so it sorts first and its
    // value is the branch's own value.
    let (value, mut rest) = if first_key.len() == depth {
        (first_value, entries.get(1..).unwrap_or_default())
    } else {
        (&[][..], entries)
    };
    let mut s = RlpStream::new_list(17);
    for nibble in 0..16u8 {
        let run = rest
            .iter()
            .take_while(|(k, _)| k.get(depth) == Some(&nibble))
            .count();
        let (child, after) = rest.split_at(run);
        if child.is_empty() {
            s.append_empty_data();
        } else {
            append_child(&mut s, encode_node(child, depth + 1));
        }
        rest = after;
    }
    s.append(&value);
    s.out().to_vec()
}

/// Appends a child reference: the node itself when its encoding is under 32 bytes, else its hash.
fn append_child(s: &mut RlpStream, node: Vec<u8>) {
    if node.len() < 32 {
        s.append_raw(&node, 1);
    } else {
        s.append(&keccak256(&node).as_slice());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_the_hash_of_the_empty_string() {
        assert_eq!(EMPTY_ROOT, keccak256(&rlp::NULL_RLP));
        assert_eq!(trie_root(Vec::<(Vec<u8>, Vec<u8>)>::new()), EMPTY_ROOT);
        assert_eq!(ordered_trie_root::<Vec<u8>>(&[]), EMPTY_ROOT);
        // Empty values are absent values.
        assert_eq!(trie_root([(b"a".to_vec(), Vec::new())]), EMPTY_ROOT);
    }

    #[test]
    fn hex_prefix_matches_appendix_c() {
        assert_eq!(hex_prefix(&[1, 2, 3, 4, 5], false), [0x11, 0x23, 0x45]);
        assert_eq!(
            hex_prefix(&[0, 1, 2, 3, 4, 5], false),
            [0x00, 0x01, 0x23, 0x45]
        );
        assert_eq!(
            hex_prefix(&[0, 0xf, 1, 0xc, 0xb, 8], true),
            [0x20, 0x0f, 0x1c, 0xb8]
        );
        assert_eq!(hex_prefix(&[0xf, 1, 0xc, 0xb, 8], true), [0x3f, 0x1c, 0xb8]);
        assert_eq!(hex_prefix(&[], true), [0x20]);
    }

    #[test]
    fn single_leaf_root_is_the_hash_of_the_leaf() {
        // A lone item is a leaf over its whole key: rlp([0x20 || key, value]).
        let mut s = RlpStream::new_list(2);
        s.append(&[0x20u8, 0xab].as_slice());
        s.append(&b"v".as_slice());
        assert_eq!(
            trie_root([(vec![0xab], b"v".to_vec())]),
            keccak256(&s.out())
        );
    }

    #[test]
    fn order_and_duplicates_do_not_change_the_root() {
        let items = [
            ("do", "verb"),
            ("dog", "puppy"),
            ("doge", "coin"),
            ("horse", "stallion"),
        ];
        let forward = trie_root(items);
        let mut reversed = items;
        reversed.reverse();
        assert_eq!(trie_root(reversed), forward);
        let mut with_dup = items.to_vec();
        with_dup.insert(0, ("dog", "overwritten"));
        assert_eq!(trie_root(with_dup), forward);
        assert_ne!(trie_root(items[1..].iter().copied()), forward);
    }

    #[test]
    fn ordered_root_keys_items_by_rlp_index() {
        let values: Vec<Vec<u8>> = (0..200u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let by_hand = trie_root(
            values
                .iter()
                .enumerate()
                .map(|(i, v)| (rlp::encode(&(i as u64)).to_vec(), v.clone())),
        );
        assert_eq!(ordered_trie_root(&values), by_hand);
    }
}
