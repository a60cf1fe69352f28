// The interop harness's chain knowledge: the Common and genesis header built from a geth
// genesis.json, the fixture chain (chain.rlp + receipts.rlp) for --serve-chain, and the root checks
// run on what a remote serves (transactions root, uncle hash, withdrawals root, receipts root).
//
// Headers, bodies and receipts stay in their raw RLP form (arrays of Uint8Array) so the checks
// recompute every root from the bytes that came off the wire, with @ethereumjs/mpt doing the trie
// work; nothing here trusts a decoded object's cached hash.

import { readFileSync } from 'node:fs'
import { createCommonFromGethGenesis, parseGethGenesisState } from '@ethereumjs/common'
import { createBlockHeader } from '@ethereumjs/block'
import { MerklePatriciaTrie, genesisMPTStateRoot } from '@ethereumjs/mpt'
import { RLP } from '@ethereumjs/rlp'
import { bytesToBigInt, bytesToHex, equalsBytes, hexToBytes } from '@ethereumjs/util'
import { keccak256 } from 'ethereum-cryptography/keccak.js'

// Header field positions (yellow paper order, with the EIP-1559/4895/4844/4788/7685 additions).
export const H = {
  parentHash: 0,
  uncleHash: 1,
  txRoot: 4,
  receiptsRoot: 5,
  difficulty: 7,
  number: 8,
  withdrawalsRoot: 16,
}

export const num = (b) => (b.length === 0 ? 0n : bytesToBigInt(b))
export const headerHash = (raw) => keccak256(RLP.encode(raw))
export const headerNumber = (raw) => num(raw[H.number])

/**
 * Reads a geth genesis.json and returns the Common (at the genesis file's last fork, with fork
 * hashes set from the computed genesis hash), the genesis header (raw) and its hash.
 * `chainId` replaces config.chainId first, so the Common announces that network id instead.
 */
export async function loadGenesis(path, { chainId } = {}) {
  const g = JSON.parse(readFileSync(path, 'utf8'))
  if (chainId !== undefined) g.config = { ...g.config, chainId: Number(chainId) }
  const common = createCommonFromGethGenesis(g, { chain: 'genesis-file' })
  // The genesis header is built at the fork active at block 0 and the genesis timestamp, so it
  // carries exactly the fields that fork adds (baseFee, withdrawalsRoot, blob fields...).
  const atGenesis = common.copy()
  atGenesis.setHardforkBy({ blockNumber: 0n, timestamp: BigInt(g.timestamp ?? 0) })
  const stateRoot = await genesisMPTStateRoot(parseGethGenesisState(g))
  const nonce = hexToBytes(`0x${BigInt(g.nonce ?? 0).toString(16).padStart(16, '0')}`)
  const fields = {
    number: 0n,
    gasLimit: BigInt(g.gasLimit),
    difficulty: BigInt(g.difficulty),
    extraData: g.extraData ?? '0x',
    timestamp: BigInt(g.timestamp ?? 0),
    nonce,
    mixHash: g.mixHash ?? `0x${'00'.repeat(32)}`,
    coinbase: g.coinbase ?? `0x${'00'.repeat(20)}`,
    stateRoot,
  }
  if (g.baseFeePerGas !== undefined && g.baseFeePerGas !== null) fields.baseFeePerGas = BigInt(g.baseFeePerGas)
  const header = createBlockHeader(fields, { common: atGenesis })
  const genesisHash = header.hash()
  common.setForkHashes(genesisHash)
  return { common, genesisHeader: header.raw(), genesisHash, difficulty: BigInt(g.difficulty) }
}

// Reads a file of RLP items written back to back.
function rlpStream(bytes) {
  const items = []
  let rest = bytes
  while (rest.length > 0) {
    const { data, remainder } = RLP.decode(rest, true)
    items.push(data)
    rest = remainder
  }
  return items
}

/**
 * The fixture chain for --serve-chain: genesis (from loadGenesis) plus the blocks of chain.rlp
 * (numbered from 1) and their receipts from receipts.rlp (one list per block, in consensus form).
 */
export function loadChain(dir, genesisHeader) {
  const blocks = rlpStream(readFileSync(`${dir}/chain.rlp`))
  const receipts = rlpStream(readFileSync(`${dir}/receipts.rlp`))
  if (receipts.length !== blocks.length)
    throw new Error(`chain.rlp has ${blocks.length} blocks but receipts.rlp ${receipts.length} lists`)
  const withdrawals = genesisHeader.length > H.withdrawalsRoot
  const store = {
    headers: [genesisHeader],
    bodies: [withdrawals ? [[], [], []] : [[], []]],
    receipts: [[]],
    byHash: new Map([[bytesToHex(headerHash(genesisHeader)), 0]]),
  }
  for (const [i, [header, ...body]] of blocks.entries()) {
    const n = Number(headerNumber(header))
    if (n !== i + 1) throw new Error(`chain.rlp item ${i} is block ${n}, expected ${i + 1}`)
    if (!equalsBytes(header[H.parentHash], headerHash(store.headers[i])))
      throw new Error(`block ${n} does not link to block ${i}`)
    store.headers.push(header)
    store.bodies.push(body)
    store.receipts.push(receipts[i])
    store.byHash.set(bytesToHex(headerHash(header)), n)
  }
  store.head = () => store.headers[store.headers.length - 1]
  return store
}

// Root of a trie keyed by RLP(index), the shape of the transactions, withdrawals and receipts tries.
async function indexTrieRoot(values) {
  const trie = new MerklePatriciaTrie()
  for (const [i, v] of values.entries()) await trie.put(RLP.encode(i), v)
  return trie.root()
}

// A transaction or receipt as a trie value: a typed item is already its bytes
// (type || rlp(payload)); a legacy one is a list that is RLP-encoded.
const consensusBytes = (item) => (item instanceof Uint8Array ? item : RLP.encode(item))

/** Checks one block body `[txs, uncles, withdrawals?]` against its header (raw). */
export async function checkBody(header, body) {
  const [txs = [], uncles = [], withdrawals] = body
  const r = {
    txs: txs.length,
    uncles: uncles.length,
    withdrawals: withdrawals === undefined ? null : withdrawals.length,
    txRootOk: equalsBytes(await indexTrieRoot(txs.map(consensusBytes)), header[H.txRoot]),
    uncleHashOk: equalsBytes(keccak256(RLP.encode(uncles)), header[H.uncleHash]),
  }
  if (header.length > H.withdrawalsRoot) {
    r.withdrawalsRootOk =
      Array.isArray(withdrawals) &&
      equalsBytes(await indexTrieRoot(withdrawals.map((w) => RLP.encode(w))), header[H.withdrawalsRoot])
  } else {
    // Before Shanghai a body has no withdrawals list at all.
    r.withdrawalsRootOk = withdrawals === undefined
  }
  return r
}

/** Checks one block's receipts (eth/68 consensus encoding) against its header's receipts root. */
export async function checkReceipts(header, receipts) {
  return {
    receipts: receipts.length,
    receiptsRootOk: equalsBytes(await indexTrieRoot(receipts.map(consensusBytes)), header[H.receiptsRoot]),
  }
}

/**
 * Summary of a BlockHeaders reply: numbers, hashes, and `linked`: every header is the parent or
 * the child of the one before it (true for a contiguous run in either direction; false with skip).
 */
export function summarizeHeaders(list) {
  const numbers = list.map((h) => Number(headerNumber(h)))
  const hashes = list.map(headerHash)
  let linked = true
  for (let i = 1; i < list.length; i++) {
    const up = equalsBytes(list[i][H.parentHash], hashes[i - 1])
    const down = equalsBytes(list[i - 1][H.parentHash], hashes[i])
    if (!up && !down) linked = false
  }
  return { numbers, hashes, linked }
}

/**
 * Checks a BlockBodies reply: `list[i]` against `headerOf(i)` ({ header, hash } of the header it
 * was asked for, or null when unknown). Returns the per-body results and `allRootsOk` (at least
 * one body, and every root of every body matches), as eth.mjs prints them.
 */
export async function checkBodiesReply(list, headerOf) {
  const bodies = []
  for (const [i, body] of list.entries()) {
    const known = headerOf(i)
    if (!known) bodies.push({ noHeader: true })
    else bodies.push({ number: Number(headerNumber(known.header)), hash: bytesToHex(known.hash), ...(await checkBody(known.header, body)) })
  }
  const allRootsOk = bodies.length > 0 && bodies.every((b) => b.txRootOk && b.uncleHashOk && b.withdrawalsRootOk)
  return { bodies, allRootsOk }
}

/** Checks a Receipts reply as [`checkBodiesReply`] checks bodies. */
export async function checkReceiptsReply(list, headerOf) {
  const blocks = []
  for (const [i, rs] of list.entries()) {
    const known = headerOf(i)
    if (!known) blocks.push({ noHeader: true })
    else blocks.push({ number: Number(headerNumber(known.header)), hash: bytesToHex(known.hash), ...(await checkReceipts(known.header, rs)) })
  }
  const allRootsOk = blocks.length > 0 && blocks.every((b) => b.receiptsRootOk)
  return { blocks, allRootsOk }
}
