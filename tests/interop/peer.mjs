#!/usr/bin/env node
// ethpeer's interop harness: a third-party devp2p peer (@ethereumjs/devp2p, pinned in
// package-lock.json) that the Rust integration tests start against an ethpeer node on 127.0.0.1.
// It prints one JSON object per line on stdout: {"t": ms, "event": name, ...}.
//
// Modes:
//   listen --port N --key HEX [--udp-port U]   accept RLPx connections (and run discv4 on U)
//   dial   --enode URL --key HEX               connect to one node
//   dpt    --port U --key HEX [--enode URL]    discv4 only; with --enode, ping it and ask it
//                                             for neighbours of our own id
// Options:
//   --caps LIST        capabilities to offer, e.g. "eth/68" (default: none)
//   --keep-without-caps  keep a session open when no capability is shared (the library would send
//                        USELESS_PEER); used to exercise Ping/Pong before any subprotocol exists
//   --ping-after MS    send one p2p Ping MS after the session starts
//   --ping-every MS    send a p2p Ping every MS while the session lasts (a liveness probe)
//   --exit-after MS    leave (Disconnect "client quitting") and exit after MS
//   --stay             dial mode: keep running after the session ends (without it a dialer whose
//                      session has ended exits, code 0 if a session had started, else 2)
//
// eth (with --caps eth/NN; see eth.mjs and chain.mjs):
//   --genesis-file PATH  geth genesis.json for the Common, genesis hash and fork id
//                        (default: the repository's fixtures/chain/genesis.json)
//   --chain-id N       announce network id N (the Common is built with config.chainId = N)
//   --genesis-hash 0x  announce this genesis hash       --fork-hash 0x  announce this fork hash
//   --td N             announce this total difficulty  --best-hash 0x  announce this best hash
//                      (defaults: the genesis difficulty; the head with --serve-chain, else genesis)
//   --actions LIST     after a successful Status, run in order (comma separated):
//                      getheaders:ORIGIN:AMOUNT[:SKIP[:REVERSE]] (ORIGIN a number or 0x-hash),
//                      getbodies / getreceipts (for the hashes of the last headers received),
//                      txs:N[:KIND] (N transactions in one Transactions message; KIND valid
//                      (default: legacy EIP-155, EIP-2930 and EIP-1559 in turn), badsig (a valid
//                      one with r on no curve point or s = n, re-encoded) or wrongchain (signed for
//                      chain id 1)), announce:N (NewPooledTransactionHashes of N fresh valid ones,
//                      served when the remote asks for them), wait:MS, disconnect
//   --reply-timeout MS how long a request action waits for its reply (default 10000)
//   --serve-chain      answer GetBlockHeaders/GetBlockBodies/GetReceipts from the fixture chain
//                      (--chain-dir, default fixtures/chain: chain.rlp + receipts.rlp); without
//                      it every request gets an empty reply
//
// transactions (see tx.mjs): signed by the accounts of --accounts-file (default
// fixtures/chain/accounts.json, in address order, one after another) or only by --tx-key HEX,
// for the chain id of the genesis file, with nonces --tx-nonce N, N+1, ... (default 1000) across
// the process, so runs with different N make different hashes.
//   --passive          do not fetch announced hashes with GetPooledTransactions
//
// p2p events: hello {protocolVersion, clientId, caps, listenPort, id, eip8}; p2p:recv {msg: PING |
//   PONG, v5 (the negotiated version has the library run snappy), wire (the message bytes as they
//   came off the wire, decrypted, 0x-hex), decoded (the RLP the library took from them)} or
//   {msg: DISCONNECT, reason, reasonName}; p2p:send {msg[, reason]}
//
// eth events (integers that can pass 2^53 are decimal strings; hashes 0x-hex):
//   eth:status:sent {version, networkId, td, bestHash, genesisHash, forkId:{hash,next}}  what we announce
//   eth:status      {version, protocolVersion, networkId, td, bestHash, genesisHash, forkId, fields}
//                   the remote's Status as received, before the library checks it
//   eth:status:ok {version} | peer:error {error[, where:"sendStatus"]} (the library's reason)
//   action {action}; eth:send {code, name, reqId[, hashes|count]}
//   eth:recv  (replies) {name, reqId, unsolicited, count, ...}: BLOCK_HEADERS numbers, hashes,
//             linked; BLOCK_BODIES bodies:[{number, hash, txs, uncles, withdrawals, txRootOk,
//             uncleHashOk, withdrawalsRootOk}], allRootsOk; RECEIPTS blocks:[{number, hash,
//             receipts, receiptsRootOk}], allRootsOk
//   eth:request {name, reqId, query..., served} (a remote request and how many items we sent)
//   eth:announce {name, count} (NewBlockHashes, NewBlock); actions:done {unanswered:[{reqId, kind}]}
//   eth:send TRANSACTIONS {kind, count, hashes, types}; NEW_POOLED_TRANSACTION_HASHES {count,
//             hashes, types, sizes}
//   eth:recv  TRANSACTIONS {count, hashes, types, sizes, verified[, errors]};
//             NEW_POOLED_TRANSACTION_HASHES {count, hashes, types, sizes, lengthsConsistent};
//             POOLED_TRANSACTIONS {reqId, unsolicited, count, hashes, types, sizes, verified,
//             announcedOk (per tx: type and size equal what that remote announced; null if it
//             never announced it), unrequested, missing}
//             (verified: per tx, true when the library accepts it for our chain with a good
//             signature, else its reason; sizes: length of the network encoding)
//   eth:request GET_POOLED_TRANSACTIONS {hashes, servedHashes, served}
//   txs:known {count, hashes}  the distinct hashes received in full (pushed or fetched, from any
//             remote), printed each time the set grows
//   disconnect {reason, reasonName, byUs}
//
// The library does all wire work (ECIES/EIP-8, frames, snappy, Hello, Ping/Pong, Disconnect, the
// Status checks). This file wires it up and logs; the one behavioural change is the opt-in
// --keep-without-caps.

import { parseArgs } from 'node:util'
import { randomBytes } from 'node:crypto'
import { DPT, ETH, RLPx, Peer, DisconnectReasonNames, DISCONNECT_REASON } from '@ethereumjs/devp2p'
import { fileURLToPath } from 'node:url'
import { headerHash, loadChain, loadGenesis } from './chain.mjs'
import { harnessEth, startEthSession } from './eth.mjs'
import { loadAccountKeys, txFactory } from './tx.mjs'
import { bytesToHex, bytesToInt, hexToBytes } from '@ethereumjs/util'
import { RLP } from '@ethereumjs/rlp'
import { secp256k1 } from 'ethereum-cryptography/secp256k1.js'

const T0 = Date.now()
const emit = (event, fields = {}) =>
  process.stdout.write(JSON.stringify({ t: Date.now() - T0, event, ...fields }) + '\n')

const { positionals, values: opt } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string' },
    key: { type: 'string' },
    enode: { type: 'string' },
    caps: { type: 'string', default: '' },
    'keep-without-caps': { type: 'boolean', default: false },
    'ping-after': { type: 'string' },
    'ping-every': { type: 'string' },
    'exit-after': { type: 'string' },
    'udp-port': { type: 'string' },
    'genesis-file': { type: 'string' },
    'chain-id': { type: 'string' },
    'genesis-hash': { type: 'string' },
    'fork-hash': { type: 'string' },
    td: { type: 'string' },
    'best-hash': { type: 'string' },
    actions: { type: 'string', default: '' },
    'reply-timeout': { type: 'string', default: '10000' },
    'serve-chain': { type: 'boolean', default: false },
    'chain-dir': { type: 'string' },
    'accounts-file': { type: 'string' },
    'tx-key': { type: 'string' },
    'tx-nonce': { type: 'string', default: '1000' },
    passive: { type: 'boolean', default: false },
    stay: { type: 'boolean', default: false },
  },
})
const mode = positionals[0]
if (mode !== 'listen' && mode !== 'dial' && mode !== 'dpt') {
  console.error('usage: peer.mjs listen|dial|dpt [options]')
  process.exit(64)
}

const hex = (s) => hexToBytes(s.startsWith('0x') ? s : `0x${s}`)
const privateKey = opt.key ? hex(opt.key) : randomBytes(32)
const nodeId = secp256k1.getPublicKey(privateKey, false).slice(1)

// Capabilities: only eth versions the library implements (its classes, with a logging subclass
// as the constructor so the remote's raw Status is printed before the library checks it).
const HarnessETH = harnessEth(emit, opt['fork-hash'])
const capabilities = opt.caps
  .split(',')
  .filter(Boolean)
  .map((c) => {
    const [name, v] = c.split('/')
    if (name !== 'eth' || !ETH[`eth${v}`]) throw new Error(`unsupported capability ${c}`)
    return { ...ETH[`eth${v}`], constructor: HarnessETH }
  })

// Logging hooks on the library's Peer: what arrives and what leaves at the p2p level.
const tag = (peer) => ({ remote: peer._remoteId ? bytesToHex(peer._remoteId) : null })
const P2P = { 0: 'HELLO', 1: 'DISCONNECT', 2: 'PING', 3: 'PONG' }

const origHello = Peer.prototype._handleHello
Peer.prototype._handleHello = function (payload) {
  emit('hello', {
    ...tag(this),
    protocolVersion: bytesToInt(payload[0]),
    clientId: new TextDecoder().decode(payload[1]),
    caps: payload[2].map((c) => `${new TextDecoder().decode(c[0])}/${bytesToInt(c[1])}`),
    listenPort: bytesToInt(payload[3]),
    id: bytesToHex(payload[4]),
    eip8: this._eciesSession?._gotEIP8Auth || this._eciesSession?._gotEIP8Ack || false,
  })
  if (!opt['keep-without-caps']) return origHello.call(this, payload)
  // With no shared capability the library disconnects; here we keep the session instead, so the
  // base protocol (Ping/Pong, snappy) can be exercised on its own.
  const origDisconnect = this.disconnect
  let refused = false
  this.disconnect = (reason) => {
    if (reason === DISCONNECT_REASON.USELESS_PEER) refused = true
    else origDisconnect.call(this, reason)
  }
  origHello.call(this, payload)
  this.disconnect = origDisconnect
  if (refused) {
    emit('kept-without-caps', tag(this))
    this._connected = true
    if (this._weHello) this.events.emit('connect')
  }
}

// The frame body as it came off the wire (decrypted, before the library's snappy step), kept
// per peer so the p2p:recv event can show the bytes the library then decoded: evidence of what
// crossed, not of what the negotiated version implies.
const origHandleBody = Peer.prototype._handleBody
Peer.prototype._handleBody = function () {
  const ecies = this._eciesSession
  if (ecies && !ecies._harnessWrapped) {
    const parse = ecies.parseBody.bind(ecies)
    ecies.parseBody = (data) => {
      const body = parse(data)
      this._harnessLastBody = body
      return body
    }
    ecies._harnessWrapped = true
  }
  return origHandleBody.call(this)
}

const origHandleMessage = Peer.prototype._handleMessage
Peer.prototype._handleMessage = function (code, msg) {
  if (code === 1) {
    const bare = msg instanceof Uint8Array
    const reason = bare ? bytesToInt(msg) : msg.length ? bytesToInt(msg[0]) : 0
    emit('p2p:recv', { ...tag(this), msg: 'DISCONNECT', reason, reasonName: DisconnectReasonNames[reason] })
  } else if (code <= 3) {
    // v5: the library ran snappy on the frame because of the negotiated version (Hello >= 5);
    // wire: the message bytes after the id as they arrived (hex); decoded: the RLP the library
    // handed on after its snappy step. A test compares the two to see compression happened.
    const body = this._harnessLastBody
    emit('p2p:recv', {
      ...tag(this),
      msg: P2P[code],
      v5: (this._hello?.protocolVersion ?? 0) >= 5,
      wire: body ? bytesToHex(body.subarray(1)) : null,
      decoded: bytesToHex(RLP.encode(msg)),
    })
  }
  return origHandleMessage.call(this, code, msg)
}
for (const [fn, name] of [
  ['_sendPing', 'PING'],
  ['_sendPong', 'PONG'],
]) {
  const orig = Peer.prototype[fn]
  Peer.prototype[fn] = function (...a) {
    emit('p2p:send', { ...tag(this), msg: name })
    return orig.apply(this, a)
  }
}
const origSendDisconnect = Peer.prototype._sendDisconnect
Peer.prototype._sendDisconnect = function (reason) {
  emit('p2p:send', { ...tag(this), msg: 'DISCONNECT', reason, reasonName: DisconnectReasonNames[reason] })
  return origSendDisconnect.call(this, reason)
}

const parseEnode = (url) => {
  const m = /^enode:\/\/([0-9a-f]{128})@([^:]+):(\d+)(?:\?discport=(\d+))?/.exec(url ?? '')
  if (!m) throw new Error(`bad enode URL ${url}`)
  return { id: hexToBytes(`0x${m[1]}`), address: m[2], tcpPort: Number(m[3]), udpPort: Number(m[4] ?? m[3]) }
}

// A discv4 node from the library; its table events are logged.
function startDpt(udpPort, tcpPort) {
  const dpt = new DPT(privateKey, {
    endpoint: { address: '127.0.0.1', udpPort, tcpPort: tcpPort ?? null },
    shouldFindNeighbours: true,
    refreshInterval: 30000,
  })
  const who = (p) => ({ id: bytesToHex(p.id), address: p.address, udpPort: p.udpPort, tcpPort: p.tcpPort })
  dpt.events.on('listening', () =>
    emit('dpt:listening', {
      enode: `enode://${bytesToHex(nodeId).slice(2)}@127.0.0.1:${tcpPort ?? udpPort}?discport=${udpPort}`,
    }),
  )
  dpt.events.on('error', (e) => emit('dpt:error', { error: e.message }))
  dpt.events.on('peer:added', (p) => emit('dpt:peer:added', { ...who(p), table: dpt.numPeers() }))
  dpt.events.on('peer:removed', (p) => emit('dpt:peer:removed', who(p)))
  dpt.bind(udpPort, '127.0.0.1')
  return dpt
}

if (mode === 'dpt') {
  const dpt = startDpt(Number(opt.port ?? 30303))
  if (opt.enode) {
    const target = parseEnode(opt.enode)
    setTimeout(async () => {
      try {
        const peer = await dpt.addPeer({ address: target.address, udpPort: target.udpPort, tcpPort: target.tcpPort })
        emit('dpt:pong', { id: bytesToHex(peer.id), idMatches: bytesToHex(peer.id) === bytesToHex(target.id) })
        dpt._server.findneighbours(peer, nodeId)
      } catch (e) {
        emit('dpt:ping-failed', { error: e.message })
      }
    }, 100)
  }
  const stop = () => {
    emit('dpt:table', { peers: dpt.getPeers().map((p) => bytesToHex(p.id)) })
    dpt.destroy()
    emit('exit', { code: 0 })
    setTimeout(() => process.exit(0), 50)
  }
  if (opt['exit-after']) setTimeout(stop, Number(opt['exit-after']))
  process.on('SIGTERM', stop)
} else {
  await runRlpx()
}

// The chain side of the eth session: Common, genesis, what our Status announces, and the fixture
// chain when serving it.
async function ethContext() {
  const fixtures = fileURLToPath(new URL('../../fixtures/chain/', import.meta.url))
  const genesisFile = opt['genesis-file'] ?? `${fixtures}genesis.json`
  const g = await loadGenesis(genesisFile, { chainId: opt['chain-id'] })
  const store = opt['serve-chain'] ? loadChain(opt['chain-dir'] ?? fixtures, g.genesisHeader) : null
  const bestHash = opt['best-hash'] ? hex(opt['best-hash']) : store ? headerHash(store.head()) : g.genesisHash
  const keys = opt['tx-key'] ? [hex(opt['tx-key'])] : loadAccountKeys(opt['accounts-file'] ?? `${fixtures}accounts.json`)
  return {
    common: g.common,
    txs: {
      factory: txFactory({ common: g.common, keys, startNonce: BigInt(opt['tx-nonce']) }),
      pool: new Map(),
      known: new Set(),
      passive: opt.passive,
    },
    emit,
    actions: opt.actions.split(',').filter(Boolean),
    replyTimeout: Number(opt['reply-timeout']),
    genesisHash: opt['genesis-hash'] ? hex(opt['genesis-hash']) : g.genesisHash,
    td: opt.td !== undefined ? BigInt(opt.td) : g.difficulty,
    bestHash,
    store,
    realGenesisHash: g.genesisHash,
    headNumber: store ? store.headers.length - 1 : 0,
  }
}

async function runRlpx() {
const ctx = await ethContext()
const common = ctx.common
const port = mode === 'listen' ? Number(opt.port ?? 30303) : null
const rlpx = new RLPx(privateKey, { capabilities, common, maxPeers: 25, listenPort: port })
emit('config', {
  mode,
  id: bytesToHex(nodeId),
  caps: capabilities.map((c) => `${c.name}/${c.version}`),
  chainId: common.chainId().toString(),
  genesisHash: bytesToHex(ctx.realGenesisHash),
  forkHash: opt['fork-hash'] ?? common.forkHash(),
  forkNext: (common.nextHardforkBlockOrTimestamp() ?? 0n).toString(),
  hardfork: common.hardfork(),
  servedHead: ctx.store ? ctx.headNumber : null,
})

let sawSession = false
let exiting = false
const exit = (code) => {
  if (exiting) return
  exiting = true
  emit('exit', { code })
  try {
    rlpx.destroy()
  } catch {}
  setTimeout(() => process.exit(code), 300)
}
if (opt['exit-after']) setTimeout(() => exit(sawSession ? 0 : 2), Number(opt['exit-after']))
process.on('SIGTERM', () => exit(sawSession ? 0 : 2))

rlpx.events.on('listening', () =>
  emit('listening', { enode: `enode://${bytesToHex(nodeId).slice(2)}@127.0.0.1:${port}` }),
)
rlpx.events.on('error', (e) => emit('rlpx:error', { error: e.message }))
rlpx.events.on('peer:error', (peer, e) => emit('peer:error', { ...tag(peer), error: e?.message ?? String(e) }))
rlpx.events.on('peer:added', (peer) => {
  sawSession = true
  emit('peer:added', { ...tag(peer), clientId: peer.getHelloMessage()?.clientId })
  if (opt['ping-after']) setTimeout(() => peer._sendPing(), Number(opt['ping-after']))
  if (opt['ping-every']) {
    const every = setInterval(() => peer._sendPing(), Number(opt['ping-every']))
    peer.events.once('close', () => clearInterval(every))
  }
  for (const proto of peer.getProtocols()) if (proto instanceof ETH) startEthSession(peer, proto, ctx)
})
rlpx.events.on('peer:removed', (peer, reason, byUs) => {
  emit('disconnect', { ...tag(peer), reason, reasonName: DisconnectReasonNames[reason], byUs })
  // A dialer has one session; once it is over there is nothing left to do unless told to stay.
  if (mode === 'dial' && !opt.stay) exit(sawSession ? 0 : 2)
})

if (mode === 'listen') {
  rlpx.listen(port, '127.0.0.1')
} else {
  const m = /^enode:\/\/([0-9a-f]{128})@([^:]+):(\d+)/.exec(opt.enode ?? '')
  if (!m) {
    console.error('dial needs --enode enode://<id>@ip:port')
    process.exit(64)
  }
  emit('dialing', { enode: opt.enode })
  rlpx
    .connect({ id: hexToBytes(`0x${m[1]}`), address: m[2], tcpPort: Number(m[3]) })
    .catch((e) => emit('dial:failed', { error: e.message }))
}

if (mode === 'listen' && opt['udp-port']) startDpt(Number(opt['udp-port']), port)
}
