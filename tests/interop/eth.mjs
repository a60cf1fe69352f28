// The interop harness's eth session on top of the library's ETH protocol object: it sends Status
// (with the deliberate overrides), logs the remote's raw Status and the library's verdict, runs the
// --actions script (requests whose replies are checked against the headers received), and answers
// the remote's requests: from the fixture chain with --serve-chain, otherwise with empty replies.
//
// The library validates the remote Status (version, network id, genesis, fork id per EIP-2124)
// and does the framing; this file builds payloads and checks the replies' contents.

import { ETH, EthMessageCodes, EthMessageCodeNames, DISCONNECT_REASON } from '@ethereumjs/devp2p'
import { RLP } from '@ethereumjs/rlp'
import { bigIntToUnpaddedBytes, bytesToHex, hexToBytes } from '@ethereumjs/util'
import { H, checkBody, checkReceipts, num, summarizeHeaders } from './chain.mjs'

// Serving caps, the same numbers geth uses (eth/protocols/eth/handler.go): at most 1024 headers,
// bodies or receipt lists per reply, and stop adding items once a reply passes 2 MiB.
const HEADERS_SERVE_MAX = 1024
const ITEMS_SERVE_MAX = 1024
const REPLY_BYTES_SOFT_MAX = 2 * 1024 * 1024

const enc = (n) => bigIntToUnpaddedBytes(BigInt(n))
const hex = (s) => hexToBytes(s.startsWith('0x') ? s : `0x${s}`)
const codeName = (code) => EthMessageCodeNames[code] ?? `0x${code.toString(16)}`

/**
 * An ETH subclass (used as the capability's constructor) that logs the remote's raw Status before
 * the library validates it, and announces a forced fork hash when `forkHash` is given.
 */
export function harnessEth(emit, forkHash) {
  return class HarnessETH extends ETH {
    constructor(version, peer, send) {
      super(version, peer, send)
      if (forkHash) this._forkHash = forkHash
    }
    _handleMessage(code, data) {
      if (code === EthMessageCodes.STATUS) {
        const remote = this._peer._remoteId ? bytesToHex(this._peer._remoteId) : null
        try {
          emit('eth:status', { remote, version: this._version, ...decodeStatus(RLP.decode(data)) })
        } catch (e) {
          emit('eth:status', { remote, undecodable: bytesToHex(data), error: e.message })
        }
      }
      return super._handleMessage(code, data)
    }
  }
}

// The eth/64-68 Status fields as sent, integers as decimal strings.
function decodeStatus(s) {
  const forkId = Array.isArray(s[5]) ? { hash: bytesToHex(s[5][0]), next: num(s[5][1]).toString() } : null
  return {
    protocolVersion: Number(num(s[0])),
    networkId: num(s[1]).toString(),
    td: num(s[2]).toString(),
    bestHash: bytesToHex(s[3]),
    genesisHash: bytesToHex(s[4]),
    forkId,
    fields: s.length,
  }
}

/**
 * Runs one eth session. `ctx`: { emit, actions (list of strings), genesisHash, td, bestHash,
 * store (fixture chain or null), replyTimeout (ms) }.
 */
export function startEthSession(peer, eth, ctx) {
  const { emit } = ctx
  const remote = peer._remoteId ? bytesToHex(peer._remoteId) : null
  const pending = new Map() // reqId (decimal string) -> { kind, hashes, resolve }
  const headers = new Map() // hash hex -> raw header, from every BlockHeaders reply
  let lastHashes = []
  let nextReq = 1n

  const send = (code, payload, fields) => {
    eth.sendMessage(code, payload)
    emit('eth:send', { remote, code, name: codeName(code), ...fields })
  }

  const request = (code, inner, kind, hashes = []) => {
    const id = nextReq++
    const reply = new Promise((resolve) => pending.set(id.toString(), { kind, hashes, resolve }))
    send(code, [enc(id), inner], { reqId: id.toString(), ...(hashes.length ? { hashes: hashes.length } : {}) })
    return reply
  }

  // Takes the waiting request for a reply's id; replies nobody asked for are marked unsolicited.
  const claim = (reqIdB, kind) => {
    const key = num(reqIdB).toString()
    const r = pending.get(key)
    if (!r || r.kind !== kind) return { reqId: key, req: null }
    pending.delete(key)
    return { reqId: key, req: r }
  }

  eth.events.on('status', () => {
    emit('eth:status:ok', { remote, version: eth._version })
    runActions().catch((e) => emit('error', { where: 'actions', error: String(e?.stack ?? e) }))
  })
  eth.events.on('message', (code, payload) => {
    onMessage(code, payload).catch((e) =>
      emit('error', { where: 'eth message', code, name: codeName(code), error: String(e?.stack ?? e) }),
    )
  })

  async function onMessage(code, payload) {
    const base = { remote, code, name: codeName(code) }
    switch (code) {
      case EthMessageCodes.STATUS:
        break // logged as eth:status before the library checked it
      case EthMessageCodes.BLOCK_HEADERS: {
        const [reqIdB, list] = payload
        const { reqId, req } = claim(reqIdB, 'headers')
        const s = summarizeHeaders(list)
        for (const [i, h] of list.entries()) headers.set(bytesToHex(s.hashes[i]), h)
        lastHashes = s.hashes
        emit('eth:recv', {
          ...base,
          reqId,
          unsolicited: req === null,
          count: list.length,
          numbers: s.numbers,
          hashes: s.hashes.map(bytesToHex),
          linked: s.linked,
        })
        req?.resolve()
        break
      }
      case EthMessageCodes.BLOCK_BODIES: {
        const [reqIdB, list] = payload
        const { reqId, req } = claim(reqIdB, 'bodies')
        const bodies = []
        for (const [i, body] of list.entries()) {
          const hash = req?.hashes[i]
          const h = hash && headers.get(bytesToHex(hash))
          if (!h) bodies.push({ noHeader: true })
          else bodies.push({ number: Number(num(h[H.number])), hash: bytesToHex(hash), ...(await checkBody(h, body)) })
        }
        const allRootsOk =
          bodies.length > 0 && bodies.every((b) => b.txRootOk && b.uncleHashOk && b.withdrawalsRootOk)
        emit('eth:recv', { ...base, reqId, unsolicited: req === null, count: list.length, bodies, allRootsOk })
        req?.resolve()
        break
      }
      case EthMessageCodes.RECEIPTS: {
        const [reqIdB, list] = payload
        const { reqId, req } = claim(reqIdB, 'receipts')
        const blocks = []
        for (const [i, rs] of list.entries()) {
          const hash = req?.hashes[i]
          const h = hash && headers.get(bytesToHex(hash))
          if (!h) blocks.push({ noHeader: true })
          else blocks.push({ number: Number(num(h[H.number])), hash: bytesToHex(hash), ...(await checkReceipts(h, rs)) })
        }
        const allRootsOk = blocks.length > 0 && blocks.every((b) => b.receiptsRootOk)
        emit('eth:recv', { ...base, reqId, unsolicited: req === null, count: list.length, blocks, allRootsOk })
        req?.resolve()
        break
      }
      case EthMessageCodes.POOLED_TRANSACTIONS: {
        const [reqIdB, list] = payload
        emit('eth:recv', { ...base, reqId: num(reqIdB).toString(), unsolicited: true, count: list.length })
        break
      }
      case EthMessageCodes.GET_BLOCK_HEADERS:
      case EthMessageCodes.GET_BLOCK_BODIES:
      case EthMessageCodes.GET_RECEIPTS:
      case EthMessageCodes.GET_POOLED_TRANSACTIONS:
        serve(code, payload, base)
        break
      default:
        // Announcements (NewBlockHashes, Transactions, NewBlock, NewPooledTransactionHashes).
        emit('eth:announce', { ...base, count: Array.isArray(payload) ? payload.length : null })
    }
  }

  // Answers a request: from the fixture chain with --serve-chain, otherwise with an empty list.
  function serve(code, payload, base) {
    const [reqIdB, q] = payload
    const store = ctx.store
    let reply = []
    let replyCode
    let query = {}
    if (code === EthMessageCodes.GET_BLOCK_HEADERS) {
      replyCode = EthMessageCodes.BLOCK_HEADERS
      const [origin, amountB, skipB, reverseB] = q
      const amount = Math.min(Number(num(amountB)), HEADERS_SERVE_MAX)
      const skip = Number(num(skipB))
      const reverse = num(reverseB) === 1n
      query = { origin: origin.length === 32 ? bytesToHex(origin) : num(origin).toString(), amount, skip, reverse }
      let n = origin.length === 32 ? store?.byHash.get(bytesToHex(origin)) : Number(num(origin))
      while (store && n !== undefined && n >= 0 && n < store.headers.length && reply.length < amount) {
        reply.push(store.headers[n])
        n = reverse ? n - (skip + 1) : n + (skip + 1)
      }
    } else if (code === EthMessageCodes.GET_BLOCK_BODIES || code === EthMessageCodes.GET_RECEIPTS) {
      const bodies = code === EthMessageCodes.GET_BLOCK_BODIES
      replyCode = bodies ? EthMessageCodes.BLOCK_BODIES : EthMessageCodes.RECEIPTS
      query = { hashes: q.length }
      let bytes = 0
      for (const h of q) {
        if (!store || reply.length >= ITEMS_SERVE_MAX || bytes >= REPLY_BYTES_SOFT_MAX) break
        const n = store.byHash.get(bytesToHex(h))
        if (n === undefined) continue
        const item = bodies ? store.bodies[n] : store.receipts[n]
        reply.push(item)
        bytes += RLP.encode(item).length
      }
    } else {
      replyCode = EthMessageCodes.POOLED_TRANSACTIONS
      query = { hashes: q.length }
    }
    emit('eth:request', { ...base, reqId: num(reqIdB).toString(), ...query, served: reply.length })
    send(replyCode, [reqIdB, reply], { reqId: num(reqIdB).toString(), count: reply.length })
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
  // Waits for a reply, or gives up after the reply timeout (the request then stays pending).
  const awaitReply = (reply) => Promise.race([reply, sleep(ctx.replyTimeout)])

  async function runActions() {
    for (const item of ctx.actions) {
      if (peer._closed) break
      const [name, ...args] = item.split(':')
      emit('action', { remote, action: item })
      if (name === 'getheaders') {
        const o = args[0] ?? '0'
        const origin = o.startsWith('0x') ? hex(o) : enc(BigInt(o))
        const amount = BigInt(args[1] ?? 1)
        const skip = BigInt(args[2] ?? 0)
        const reverse = args[3] === '1' || args[3] === 'true' ? 1n : 0n
        await awaitReply(
          request(EthMessageCodes.GET_BLOCK_HEADERS, [origin, enc(amount), enc(skip), enc(reverse)], 'headers'),
        )
      } else if (name === 'getbodies' || name === 'getreceipts') {
        const bodies = name === 'getbodies'
        const code = bodies ? EthMessageCodes.GET_BLOCK_BODIES : EthMessageCodes.GET_RECEIPTS
        await awaitReply(request(code, lastHashes, bodies ? 'bodies' : 'receipts', lastHashes))
      } else if (name === 'wait') {
        await sleep(Number(args[0] ?? 1000))
      } else if (name === 'disconnect') {
        peer.disconnect(DISCONNECT_REASON.CLIENT_QUITTING)
        break
      } else {
        emit('action:unknown', { remote, action: item })
      }
    }
    const unanswered = [...pending.entries()].map(([reqId, r]) => ({ reqId, kind: r.kind }))
    emit('actions:done', { remote, unanswered })
  }

  // Status: the library fills in version, network id (the Common's chain id) and fork id; the
  // overrides change what we announce on purpose. When the remote's Status came first, the
  // library validates it inside sendStatus and throws its reason.
  const status = { td: enc(ctx.td), bestHash: ctx.bestHash, genesisHash: ctx.genesisHash }
  // Logged just before sending: a remote Status that came first is validated inside sendStatus.
  const sent = () =>
    emit('eth:status:sent', {
      remote,
      version: eth._version,
      networkId: peer.common.chainId().toString(),
      td: ctx.td.toString(),
      bestHash: bytesToHex(ctx.bestHash),
      genesisHash: bytesToHex(ctx.genesisHash),
      forkId: { hash: eth._forkHash, next: eth._nextForkBlock.toString() },
    })
  sent()
  try {
    eth.sendStatus(status)
  } catch (e) {
    emit('peer:error', { remote, error: e?.message ?? String(e), where: 'sendStatus' })
    peer.disconnect(DISCONNECT_REASON.SUBPROTOCOL_ERROR)
  }
}
