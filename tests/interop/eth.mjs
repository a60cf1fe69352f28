// The interop harness's eth session on top of the library's ETH protocol object: it sends Status
// (with the deliberate overrides), logs the remote's raw Status and the library's verdict, runs the
// --actions script (requests whose replies are checked against the headers received; transactions
// pushed or announced), and answers the remote's requests: headers, bodies and receipts from the
// fixture chain with --serve-chain (otherwise empty replies), pooled transactions from the
// transactions this process made or received. Transactions that arrive (pushed, or fetched after
// an announcement) are logged with their hashes and counted in the process-wide `txs:known` set.
//
// The library validates the remote Status (version, network id, genesis, fork id per EIP-2124)
// and does the framing; this file builds payloads and checks the replies' contents.

import { ETH, EthMessageCodes, EthMessageCodeNames, DISCONNECT_REASON } from '@ethereumjs/devp2p'
import { RLP } from '@ethereumjs/rlp'
import { bigIntToUnpaddedBytes, bytesToHex, hexToBytes } from '@ethereumjs/util'
import { checkBodiesReply, checkReceiptsReply, num, summarizeHeaders } from './chain.mjs'
import { TX_KINDS, txInfo, verifyTx } from './tx.mjs'

// Serving caps, the same numbers geth uses (eth/protocols/eth/handler.go): at most 1024 headers,
// bodies or receipt lists per reply, and stop adding items once a reply passes 2 MiB.
const HEADERS_SERVE_MAX = 1024
const ITEMS_SERVE_MAX = 1024
const REPLY_BYTES_SOFT_MAX = 2 * 1024 * 1024

const enc = (n) => bigIntToUnpaddedBytes(BigInt(n))
const hex = (s) => hexToBytes(s.startsWith('0x') ? s : `0x${s}`)
// The library calls 0x02 "TX"; the spec (devp2p eth.md) calls it Transactions.
const codeName = (code) =>
  code === EthMessageCodes.TX ? 'TRANSACTIONS' : (EthMessageCodeNames[code] ?? `0x${code.toString(16)}`)

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
 * store (fixture chain or null), replyTimeout (ms), common, txs }. `ctx.txs` is shared by every
 * session of the process: { factory (tx.mjs txFactory), pool: Map hash -> network item (what we
 * made or received, served to GetPooledTransactions), known: Set of hashes received in full,
 * passive (do not fetch announced hashes) }.
 */
export function startEthSession(peer, eth, ctx) {
  const { emit } = ctx
  const remote = peer._remoteId ? bytesToHex(peer._remoteId) : null
  const pending = new Map() // reqId (decimal string) -> { kind, hashes, resolve }
  const headers = new Map() // hash hex -> raw header, from every BlockHeaders reply
  // The header each item of a bodies/receipts reply answers: the i-th hash asked for, if its
  // header came in an earlier BlockHeaders reply.
  const headerOf = (req) => (i) => {
    const hash = req?.hashes[i]
    const header = hash && headers.get(bytesToHex(hash))
    return header ? { header, hash } : null
  }
  let lastHashes = []
  let nextReq = 1n
  const txs = ctx.txs
  const announced = new Map() // hash -> { type, size } as this remote announced it
  const inFlight = new Set() // hashes asked for with GetPooledTransactions and not yet answered

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
        const { bodies, allRootsOk } = await checkBodiesReply(list, headerOf(req))
        emit('eth:recv', { ...base, reqId, unsolicited: req === null, count: list.length, bodies, allRootsOk })
        req?.resolve()
        break
      }
      case EthMessageCodes.RECEIPTS: {
        const [reqIdB, list] = payload
        const { reqId, req } = claim(reqIdB, 'receipts')
        const { blocks, allRootsOk } = await checkReceiptsReply(list, headerOf(req))
        emit('eth:recv', { ...base, reqId, unsolicited: req === null, count: list.length, blocks, allRootsOk })
        req?.resolve()
        break
      }
      case EthMessageCodes.TX: {
        const infos = payload.map(txInfo)
        emit('eth:recv', { ...base, count: payload.length, ...txFields(payload, infos) })
        learn(payload, infos)
        break
      }
      case EthMessageCodes.NEW_POOLED_TRANSACTION_HASHES: {
        onAnnouncement(payload, base)
        break
      }
      case EthMessageCodes.POOLED_TRANSACTIONS: {
        const [reqIdB, list] = payload
        const { reqId, req } = claim(reqIdB, 'pooled')
        for (const h of req?.hashes ?? []) inFlight.delete(bytesToHex(h))
        const infos = list.map(txInfo)
        const asked = new Set((req?.hashes ?? []).map((h) => bytesToHex(h)))
        // Each delivered transaction against what this remote announced for its hash (eth/68:
        // type and network-encoding size); null when it never announced that hash.
        const announcedOk = infos.map((t) => {
          const a = t.hash && announced.get(t.hash)
          return a ? a.type === t.type && a.size === t.size : null
        })
        emit('eth:recv', {
          ...base,
          reqId,
          unsolicited: req === null,
          count: list.length,
          ...txFields(list, infos),
          announcedOk,
          unrequested: infos.filter((t) => t.hash && !asked.has(t.hash)).map((t) => t.hash),
          missing: [...asked].filter((h) => !infos.some((t) => t.hash === h)),
        })
        learn(list, infos)
        req?.resolve()
        break
      }
      case EthMessageCodes.GET_BLOCK_HEADERS:
      case EthMessageCodes.GET_BLOCK_BODIES:
      case EthMessageCodes.GET_RECEIPTS:
      case EthMessageCodes.GET_POOLED_TRANSACTIONS:
        serve(code, payload, base)
        break
      default:
        // Block announcements (NewBlockHashes, NewBlock).
        emit('eth:announce', { ...base, count: Array.isArray(payload) ? payload.length : null })
    }
  }

  // The per-transaction fields of a TRANSACTIONS or POOLED_TRANSACTIONS event: hashes, types,
  // sizes (network encoding), whether the library accepts each for our chain (`verified`: true or
  // its reason) and the errors of items whose hash could not be computed.
  function txFields(list, infos) {
    const errors = infos.flatMap((t, i) => (t.error ? [{ index: i, error: t.error }] : []))
    return {
      hashes: infos.map((t) => t.hash ?? null),
      types: infos.map((t) => t.type ?? null),
      sizes: infos.map((t) => t.size ?? null),
      verified: list.map((item) => verifyTx(item, ctx.common)),
      ...(errors.length ? { errors } : {}),
    }
  }

  // Adds transactions received in full to the process-wide known set (and to the pool we serve
  // from); prints the running set when it grows.
  function learn(list, infos) {
    const before = txs.known.size
    for (const [i, t] of infos.entries()) {
      if (!t.hash) continue
      txs.known.add(t.hash)
      if (!txs.pool.has(t.hash)) txs.pool.set(t.hash, list[i])
    }
    if (txs.known.size > before) emit('txs:known', { count: txs.known.size, hashes: [...txs.known] })
  }

  // NewPooledTransactionHashes: eth/68 `[types, [size...], [hash...]]`, earlier versions a bare
  // hash list. Remembers what was announced and fetches what we do not have (unless --passive).
  function onAnnouncement(payload, base) {
    const eth68 = eth._version >= 68
    const [typesB, sizesB, hashesB] = eth68 ? payload : [null, null, payload]
    const hashes = hashesB.map((h) => bytesToHex(h))
    const types = typesB ? [...typesB] : null
    const sizes = sizesB ? sizesB.map((b) => Number(num(b))) : null
    const lengthsConsistent = !eth68 || (types.length === hashes.length && sizes.length === hashes.length)
    emit('eth:recv', { ...base, count: hashes.length, hashes, types, sizes, lengthsConsistent })
    for (const [i, h] of hashes.entries()) announced.set(h, { type: types?.[i], size: sizes?.[i] })
    // Our pool holds what we made and what we received in full: no need to ask for those.
    const wanted = hashes.filter((h) => !txs.pool.has(h) && !inFlight.has(h))
    if (txs.passive || wanted.length === 0) return
    for (const h of wanted) inFlight.add(h)
    const wantedB = wanted.map(hex)
    request(EthMessageCodes.GET_POOLED_TRANSACTIONS, wantedB, 'pooled', wantedB)
  }

  // Makes `n` transactions of `kind` and keeps them in the pool so we can serve them.
  function makeTxs(n, kind) {
    const made = Array.from({ length: n }, () => txs.factory[kind]())
    for (const t of made) txs.pool.set(t.hash, t.item)
    return made
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
      // The same caps as bodies and receipts: 1024 items, stop past 2 MiB.
      const served = []
      let bytes = 0
      for (const h of q) {
        if (reply.length >= ITEMS_SERVE_MAX || bytes >= REPLY_BYTES_SOFT_MAX) break
        const item = txs.pool.get(bytesToHex(h))
        if (item === undefined) continue
        reply.push(item)
        served.push(bytesToHex(h))
        bytes += RLP.encode(item).length
      }
      query = { hashes: q.length, servedHashes: served }
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
      } else if (name === 'txs') {
        const kind = args[1] ?? 'valid'
        if (!TX_KINDS.includes(kind)) {
          emit('action:unknown', { remote, action: item, why: `kind is one of ${TX_KINDS.join(', ')}` })
          continue
        }
        const made = makeTxs(Number(args[0] ?? 1), kind)
        send(
          EthMessageCodes.TX,
          made.map((t) => t.item),
          { kind, count: made.length, hashes: made.map((t) => t.hash), types: made.map((t) => t.type) },
        )
      } else if (name === 'announce') {
        const made = makeTxs(Number(args[0] ?? 1), 'valid')
        const types = made.map((t) => t.type)
        const sizes = made.map((t) => t.size)
        const hashes = made.map((t) => t.hash)
        // eth/68 announces types and sizes beside the hashes; earlier versions only hashes.
        const eth68 = eth._version >= 68
        const payload = eth68 ? [Uint8Array.from(types), sizes.map(enc), hashes.map(hex)] : hashes.map(hex)
        send(EthMessageCodes.NEW_POOLED_TRANSACTION_HASHES, payload, {
          count: made.length,
          hashes,
          ...(eth68 ? { types, sizes } : {}),
        })
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
