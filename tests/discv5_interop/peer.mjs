// ethpeer's discv5 interop harness: one @chainsafe/discv5 node (the library inside Lodestar) on
// 127.0.0.1, driven by command-line actions, printing one JSON object per line.
//
//   node peer.mjs PORT [ACTION ...]
//     add=ENR          put ENR in its table
//     ping=ENR         PING it; prints {"event":"pong","enrSeq":..,"ip":..,"port":..}
//     findnode=ENR@D   FINDNODE at log distance D; prints {"event":"nodes","enrs":[..]}
//     lookup=NODEID    a lookup for NODEID through its table; prints {"event":"lookup","enrs":[..]}
//     talk=ENR         TALKREQ "ethpeer-test"; prints {"event":"talkresp","hex":..}
//     show=NODEID      prints the record its table holds for NODEID ({"event":"show",..})
//     wait=MS          sleeps before the next action
// Actions run in order; then it stays STAY_MS (default 2000) printing events, and exits 0.
// Every failed action prints {"event":"error","action":..,"error":..} and the run goes on.
import { Discv5 } from '@chainsafe/discv5'
import { SignableENR, ENR } from '@chainsafe/enr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'

const out = (o) => console.log(JSON.stringify(o))
const port = Number(process.argv[2])
const key = await generateKeyPair('secp256k1')
const enr = SignableENR.createFromPrivateKey(key)
enr.ip = '127.0.0.1'
enr.udp = port
const d = Discv5.create({
  enr,
  privateKey: key,
  bindAddrs: { ip4: multiaddr(`/ip4/127.0.0.1/udp/${port}`) },
})
d.on('discovered', (e) => out({ event: 'discovered', enr: e.encodeTxt(), nodeId: e.nodeId }))
d.on('enrAdded', (e) => out({ event: 'enrAdded', enr: e.encodeTxt(), nodeId: e.nodeId }))
await d.start()
out({ event: 'ready', enr: d.enr.encodeTxt(), nodeId: d.enr.nodeId })

const hexOf = (b) => Buffer.from(b).toString('hex')
for (const arg of process.argv.slice(3)) {
  const i = arg.indexOf('=')
  const [action, value] = [arg.slice(0, i), arg.slice(i + 1)]
  try {
    if (action === 'add') {
      d.addEnr(value)
      out({ event: 'added', enr: value })
    } else if (action === 'ping') {
      const p = await d.sendPing(ENR.decodeTxt(value))
      out({ event: 'pong', enrSeq: Number(p.enrSeq), ip: Array.from(p.addr.ip.octets).join('.'), port: p.addr.port })
    } else if (action === 'findnode') {
      const at = value.lastIndexOf('@')
      const enrs = await d.sendFindNode(ENR.decodeTxt(value.slice(0, at)), [Number(value.slice(at + 1))])
      out({ event: 'nodes', enrs: enrs.map((e) => e.encodeTxt()), seqs: enrs.map((e) => Number(e.seq)) })
    } else if (action === 'lookup') {
      const enrs = await d.findNode(value)
      out({ event: 'lookup', enrs: enrs.map((e) => e.encodeTxt()), nodeIds: enrs.map((e) => e.nodeId) })
    } else if (action === 'talk') {
      const r = await d.sendTalkReq(ENR.decodeTxt(value), Buffer.from('hi'), 'ethpeer-test')
      out({ event: 'talkresp', hex: hexOf(r) })
    } else if (action === 'show') {
      const e = d.findEnr(value)
      out({ event: 'show', nodeId: value, enr: e ? e.encodeTxt() : null, seq: e ? Number(e.seq) : null })
    } else if (action === 'wait') {
      await new Promise((r) => setTimeout(r, Number(value)))
    } else {
      out({ event: 'error', action: arg, error: 'unknown action' })
    }
  } catch (e) {
    out({ event: 'error', action, error: String(e) })
  }
}
out({ event: 'done' })
setTimeout(async () => {
  await d.stop()
  process.exit(0)
}, Number(process.env.STAY_MS ?? 2000))
