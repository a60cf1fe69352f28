//! The downloader taking bodies and receipts (devp2p caps/eth.md "BlockBodies", "Receipts";
//! EIP-7975 for eth/70's `lastBlockIncomplete`): each reply is matched to the slots it was asked
//! for, joined to its header and checked with [`verify_block`]; a reply that contradicts its
//! header drops the peer, an empty or short one charges the items it left out, and eth/70's
//! partial receipt lists are gathered until the block's list is complete.

use rlp::Rlp;

use super::{Downloader, Partial};
use crate::chain::block::join_block;
use crate::chain::verify::{ImportError, RECEIPTS_SIZE_MAX, verify_block};
use crate::eth::sync::sync_work::{ConnId, Want};
use crate::eth::wire::receipts::{ReceiptForm, Receipts};
use crate::eth::wire::{RawList, RawResponse};

impl Downloader {
    /// A BlockBodies reply to `Want::Bodies(numbers)`.
    pub fn deliver_bodies(&mut self, peer: ConnId, numbers: &[u64], reply: &RawResponse) {
        let want = Want::Bodies(numbers.to_vec());
        if reply.items.len() > numbers.len() {
            self.release(&want, peer, false);
            return self.drop_peer(
                peer,
                format!(
                    "{} bodies for a request of {}",
                    reply.items.len(),
                    numbers.len()
                ),
            );
        }
        if reply.items.is_empty() {
            // The peer has none of them: charge the first (the rest may simply follow it).
            return self.release_charging_first(&want, peer);
        }
        let mut bad = None;
        for (&n, body) in numbers.iter().zip(reply.items.iter()) {
            let Some(slot) = self.slot_mut(n) else {
                continue;
            };
            if slot.body_asked != Some(peer) {
                continue;
            }
            let checked = join_block(&slot.header_rlp, body)
                .map_err(|e| e.to_string())
                .and_then(|raw| verify_block(&raw, None, n).map_err(|e| e.to_string()));
            match checked {
                Ok(block) if block.hash == slot.info.hash => {
                    slot.tx_count = Rlp::new(&block.body_rlp)
                        .at(0)
                        .and_then(|t| t.item_count())
                        .unwrap_or(0);
                    slot.block = Some(block);
                    slot.body_asked = None;
                }
                _ => {
                    bad = Some(n);
                    break;
                }
            }
        }
        if let Some(n) = bad {
            self.release(&want, peer, false);
            return self.drop_peer(peer, format!("body of block {n} does not match its header"));
        }
        // A short reply (a size limit): the rest go back to the queue uncharged.
        self.release(&want, peer, false);
    }

    /// Charges `peer` one failure for the first item of `want` (an empty reply: the peer lacks
    /// that one, and the rest may simply follow it), and gives the whole request back.
    fn release_charging_first(&mut self, want: &Want, peer: ConnId) {
        let (first, receipts) = match want {
            Want::Headers { .. } => return self.release(want, peer, true),
            Want::Bodies(numbers) => (numbers.first().copied(), false),
            Want::Receipts { numbers, .. } => (numbers.first().copied(), true),
        };
        if let Some(s) = first.and_then(|n| self.slot_mut(n)) {
            if receipts && s.receipts_asked == Some(peer) {
                s.receipts_fails.add(peer);
            } else if !receipts && s.body_asked == Some(peer) {
                s.body_fails.add(peer);
            }
        }
        self.release(want, peer, false);
    }

    /// A Receipts reply to `Want::Receipts { numbers, first_index }`.
    pub fn deliver_receipts(
        &mut self,
        peer: ConnId,
        numbers: &[u64],
        first_index: u64,
        reply: &Receipts,
    ) {
        let want = Want::Receipts {
            numbers: numbers.to_vec(),
            first_index,
        };
        // The store keeps consensus receipts, and the receipts root is computed over them.
        let consensus = match reply.to_form(ReceiptForm::Consensus) {
            Ok(c) => c,
            Err(e) => {
                self.release(&want, peer, false);
                return self.drop_peer(peer, format!("undecodable receipts: {e}"));
            }
        };
        let lists: Vec<&[u8]> = consensus.blocks.iter().collect();
        if lists.len() > numbers.len() {
            self.release(&want, peer, false);
            return self.drop_peer(
                peer,
                format!(
                    "{} receipt lists for a request of {}",
                    lists.len(),
                    numbers.len()
                ),
            );
        }
        if lists.is_empty() {
            if first_index > 0
                && let Some(s) = numbers.first().and_then(|&n| self.slot_mut(n))
            {
                s.partial = None;
            }
            return self.release_charging_first(&want, peer);
        }
        let last = lists.len() - 1;
        for (i, (&n, list)) in numbers.iter().zip(lists).enumerate() {
            let incomplete = i == last && reply.last_block_incomplete;
            if let Err(why) =
                self.take_receipts(peer, n, i == 0 && first_index > 0, list, incomplete)
            {
                if let Some(s) = self.slot_mut(n) {
                    s.partial = None;
                }
                self.release(&want, peer, false);
                return self.drop_peer(peer, why);
            }
        }
        self.release(&want, peer, false);
    }

    /// One block's receipt list (or a page of it) from a reply.
    fn take_receipts(
        &mut self,
        peer: ConnId,
        n: u64,
        continues: bool,
        list: &[u8],
        incomplete: bool,
    ) -> Result<(), String> {
        let Some(slot) = self.slot_mut(n) else {
            return Ok(());
        };
        if slot.receipts_asked != Some(peer) {
            return Ok(());
        }
        let mut items = match (continues, slot.partial.take()) {
            (true, Some(p)) if p.peer == peer => p.items,
            (true, _) => return Err(format!("receipts of block {n} continue no page of ours")),
            (false, _) => Vec::new(),
        };
        let before = items.len();
        let mut size: usize = items.iter().map(Vec::len).sum();
        for r in Rlp::new(list).iter() {
            size = size.saturating_add(r.as_raw().len());
            if size > RECEIPTS_SIZE_MAX || items.len() >= slot.tx_count {
                return Err(format!(
                    "receipts of block {n} exceed its {} transactions",
                    slot.tx_count
                ));
            }
            items.push(r.as_raw().to_vec());
        }
        if incomplete {
            if items.len() == before {
                return Err(format!("empty receipts page for block {n}"));
            }
            slot.partial = Some(Partial { peer, items });
            slot.receipts_asked = None;
            return Ok(());
        }
        let list = RawList::from_items(&items).map_err(|e| e.to_string())?;
        let Some(block) = &slot.block else {
            return Ok(());
        };
        let raw = join_block(&slot.header_rlp, &block.body_rlp).map_err(|e| e.to_string())?;
        match verify_block(&raw, Some(list.as_rlp()), n) {
            Ok(_) => {
                if let Some(b) = slot.block.as_mut() {
                    b.receipts_rlp = Some(list.as_rlp().to_vec());
                }
                slot.receipts_done = true;
                slot.receipts_asked = None;
                Ok(())
            }
            Err(ImportError::Mismatch { .. }) => Err(format!("receipts root mismatch at {n}")),
            Err(e) => Err(format!("receipts of block {n} are malformed: {e}")),
        }
    }
}
