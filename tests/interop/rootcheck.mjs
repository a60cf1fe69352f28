#!/usr/bin/env node
// Negative control for the harness's root checks (chain.mjs checkBodiesReply / checkReceiptsReply,
// the code that prints txRootOk, withdrawalsRootOk, receiptsRootOk and allRootsOk for
// interop_eth.rs): runs them on fixture bodies and receipts as they are, then with one byte
// changed, and prints one JSON line per case:
//   {"case", "what": "bodies"|"receipts", "changed": null | {block, item}, "results": [...], "allRootsOk"}
// Exit status 1 when an intact case is not all true or a changed one is not false (for
// selftest.sh); the Rust test (interop_eth.rs) reads the lines and judges them itself.
// Usage: node rootcheck.mjs [--chain-dir DIR] [--genesis-file PATH]

import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { checkBodiesReply, checkReceiptsReply, headerHash, loadChain, loadGenesis } from './chain.mjs'

const fixtures = fileURLToPath(new URL('../../fixtures/chain/', import.meta.url))
const { values: opt } = parseArgs({
  options: { 'chain-dir': { type: 'string' }, 'genesis-file': { type: 'string' } },
})
const g = await loadGenesis(opt['genesis-file'] ?? `${fixtures}genesis.json`)
const store = loadChain(opt['chain-dir'] ?? fixtures, g.genesisHeader)

// Blocks 1-10 (legacy, EIP-1559, EIP-2930 and blob transactions) and 17 (the first with
// withdrawals); receipts of 1-10.
const BODY_BLOCKS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 17]
const RECEIPT_BLOCKS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]

// A deep copy of an RLP item (bytes or nested lists).
const copy = (x) => (x instanceof Uint8Array ? Uint8Array.from(x) : x.map(copy))

// Flips the low bit of the last byte of the last non-empty byte string in `item` (depth first),
// in place: one byte changed. Returns false if the item holds no byte at all.
function flipOneByte(item) {
  if (item instanceof Uint8Array) {
    if (item.length === 0) return false
    item[item.length - 1] ^= 0x01
    return true
  }
  for (let i = item.length - 1; i >= 0; i--) if (flipOneByte(item[i])) return true
  return false
}

const headerOf = (numbers) => (i) => {
  const header = store.headers[numbers[i]]
  return header ? { header, hash: headerHash(header) } : null
}

let failed = false
async function run(name, what, numbers, list, changed, expectOk) {
  const r =
    what === 'bodies' ? await checkBodiesReply(list, headerOf(numbers)) : await checkReceiptsReply(list, headerOf(numbers))
  const results = what === 'bodies' ? r.bodies : r.blocks
  process.stdout.write(JSON.stringify({ case: name, what, changed, results, allRootsOk: r.allRootsOk }) + '\n')
  if (r.allRootsOk !== expectOk) failed = true
}

const bodies = () => BODY_BLOCKS.map((n) => copy(store.bodies[n]))
const receipts = () => RECEIPT_BLOCKS.map((n) => copy(store.receipts[n]))

await run('intact bodies', 'bodies', BODY_BLOCKS, bodies(), null, true)
await run('intact receipts', 'receipts', RECEIPT_BLOCKS, receipts(), null, true)

// One byte changed: in a legacy transaction (block 1), a typed one (block 7), a withdrawal
// (block 17), a receipt (block 1).
for (const [name, block, part] of [
  ['legacy tx byte', 1, 0],
  ['typed tx byte', 7, 0],
  ['withdrawal byte', 17, 2],
]) {
  const list = bodies()
  const at = BODY_BLOCKS.indexOf(block)
  if (!flipOneByte(list[at][part][0])) throw new Error(`block ${block} has no item ${part}/0 to change`)
  await run(name, 'bodies', BODY_BLOCKS, list, { block, item: part === 2 ? 'withdrawal 0' : 'tx 0' }, false)
}
{
  const list = receipts()
  const at = RECEIPT_BLOCKS.indexOf(1)
  if (!flipOneByte(list[at][0])) throw new Error('block 1 has no receipt to change')
  await run('receipt byte', 'receipts', RECEIPT_BLOCKS, list, { block: 1, item: 'receipt 0' }, false)
}
process.exit(failed ? 1 : 0)
