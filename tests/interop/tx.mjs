// The interop harness's transactions: signed transfers from the fixture chain's funded accounts
// (valid ones of three types, ones with a broken signature, ones signed for another chain), and
// the hash, type and size of any transaction as it arrives on the wire.
//
// Wire forms (devp2p eth.md, EIP-2718): in Transactions and PooledTransactions a legacy
// transaction is an RLP list and a typed one a byte string `type || rlp(payload)`; a blob
// transaction travels in its network form `3 || rlp([payload, blobs, commitments, proofs])`. The
// hash is keccak256 of the consensus encoding (for a blob transaction: without the sidecar); the
// size announced in eth/68 NewPooledTransactionHashes is the length of the network encoding.
//
// The library (@ethereumjs/tx) builds and signs; the broken variants are re-encoded here from the
// library's raw fields, because its constructors refuse such signatures.

import { readFileSync } from 'node:fs'
import { Common, Mainnet } from '@ethereumjs/common'
import { RLP } from '@ethereumjs/rlp'
import {
  createAccessList2930Tx,
  createFeeMarket1559Tx,
  createLegacyTx,
  createTxFromBlockBodyData,
} from '@ethereumjs/tx'
import { bigIntToBytes, bytesToBigInt, bytesToHex, concatBytes, hexToBytes, setLengthLeft } from '@ethereumjs/util'
import { keccak256 } from 'ethereum-cryptography/keccak.js'

const GWEI = 1_000_000_000n
// Every transfer: 21000 gas (the intrinsic cost of a plain transfer), 100 gwei fee cap (legacy
// and EIP-2930 gas price) well above the fixture chain's 1 gwei base fee, 1 gwei tip.
const GAS_LIMIT = 21000n
const FEE_CAP = 100n * GWEI
const TIP = 1n * GWEI
const RECIPIENT = '0x000000000000000000000000000000000000beef'
// The three types a `valid` batch rotates through: legacy (EIP-155), EIP-2930, EIP-1559.
const VALID_TYPES = [0, 1, 2]

// secp256k1 field prime and group order (SEC 2, 2.4.1).
const P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

const modPow = (b, e, m) => {
  let r = 1n
  b %= m
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m
    b = (b * b) % m
    e >>= 1n
  }
  return r
}
// True when no curve point has x-coordinate `x`: x³+7 is not a square mod p (Euler's criterion),
// so a signature with r = x recovers no public key.
const noPointAt = (x) => modPow((x * x * x + 7n) % P, (P - 1n) / 2n, P) === P - 1n

/** The private keys of accounts.json ({address: {key}}), ordered by address. */
export function loadAccountKeys(path) {
  const accounts = JSON.parse(readFileSync(path, 'utf8'))
  return Object.keys(accounts)
    .sort()
    .map((address) => hexToBytes(accounts[address].key))
}

/** The network form of a signed library transaction: a list for legacy, bytes for typed. */
const networkItem = (tx) => (tx.type === 0 ? tx.raw() : tx.serialize())

/**
 * Hash, type and size of one transaction as it came off the wire (an item of a Transactions or
 * PooledTransactions list), computed from the bytes alone. Undecodable items get an `error`.
 */
export function txInfo(item) {
  try {
    if (Array.isArray(item)) {
      const bytes = RLP.encode(item)
      return { hash: bytesToHex(keccak256(bytes)), type: 0, size: bytes.length }
    }
    if (item.length === 0) return { error: 'empty transaction' }
    const type = item[0]
    let consensus = item
    if (type === 3) {
      const inner = RLP.decode(item.subarray(1))
      // The network form wraps the payload list with the sidecar; the hash covers the payload.
      if (Array.isArray(inner) && Array.isArray(inner[0])) consensus = concatBytes(Uint8Array.of(3), RLP.encode(inner[0]))
    }
    return { hash: bytesToHex(keccak256(consensus)), type, size: item.length }
  } catch (e) {
    return { error: e.message }
  }
}

/**
 * Whether the library accepts `item` as a transaction of `common`'s chain with a valid signature:
 * true, or the library's reason.
 */
export function verifyTx(item, common) {
  try {
    const tx = createTxFromBlockBodyData(item, { common })
    return tx.verifySignature() ? true : 'signature recovers no sender'
  } catch (e) {
    // The library's messages can run over lines; the first line names the rule.
    return String(e?.message ?? e).split('\n')[0].slice(0, 160)
  }
}

/**
 * Builds transactions signed by `keys` in turn (sender i mod keys), each with the next nonce of
 * one counter starting at `startNonce`, so every transaction of one harness run has its own
 * (sender, nonce) and its own hash. `common` carries the chain id of valid transactions.
 * Each result: { item (network form), hash, type, size }.
 */
export function txFactory({ common, keys, startNonce }) {
  let next = BigInt(startNonce)
  let i = 0
  const mainnet = new Common({ chain: Mainnet, hardfork: common.hardfork() })

  const signed = (c) => {
    const type = VALID_TYPES[i % VALID_TYPES.length]
    const key = keys[i % keys.length]
    i += 1
    const base = { nonce: next++, gasLimit: GAS_LIMIT, to: RECIPIENT, value: 1n, data: '0x' }
    let tx
    if (type === 0) tx = createLegacyTx({ ...base, gasPrice: FEE_CAP }, { common: c })
    else if (type === 1) tx = createAccessList2930Tx({ ...base, gasPrice: FEE_CAP, accessList: [] }, { common: c })
    else
      tx = createFeeMarket1559Tx(
        { ...base, maxFeePerGas: FEE_CAP, maxPriorityFeePerGas: TIP, accessList: [] },
        { common: c },
      )
    return tx.sign(key)
  }
  const describe = (item) => ({ item, ...txInfo(item) })

  // A valid transaction whose signature is broken, re-encoded: every other one gets an r that is
  // the x-coordinate of no curve point (nothing to recover), the others s = n (outside [1, n-1]).
  let broken = 0
  const badsig = () => {
    const tx = signed(common)
    const raw = tx.raw()
    const rAt = raw.length - 2
    const sAt = raw.length - 1
    if (broken++ % 2 === 0) {
      let r = bytesToBigInt(raw[rAt])
      do r = (r + 1n) % N
      while (r === 0n || !noPointAt(r))
      raw[rAt] = bigIntToBytes(r)
    } else {
      raw[sAt] = setLengthLeft(bigIntToBytes(N), 32)
    }
    return describe(tx.type === 0 ? raw : concatBytes(Uint8Array.of(tx.type), RLP.encode(raw)))
  }

  return {
    valid: () => describe(networkItem(signed(common))),
    badsig,
    // Signed for chain id 1 (mainnet): EIP-155 v for legacy, chainId 1 in typed payloads.
    wrongchain: () => describe(networkItem(signed(mainnet))),
  }
}

export const TX_KINDS = ['valid', 'badsig', 'wrongchain']
