#!/usr/bin/env node
// Runs the pinned @ethereumjs/client as a live pre-merge peer for ethpeer's tests: a Clique
// (proof-of-authority) London chain started from this folder's genesis.json, sealed by the
// test-only key in signer.key, on loopback only (no discovery, no DNS), on the ports given.
//
// stdout carries one JSON object per line, `{"t": <ms since start>, "event": "<name>", ...}`:
//   config      the options in force
//   enode       the client's enode URL, from its "Server listener up" log line
//   genesis     the client's genesis block (hash, stateRoot, extraData, ...) read over JSON-RPC
//   ready       enode and genesis hash together: the peer can be dialled
//   head        the client's head changed (number, hash, td), polled over JSON-RPC
//   peer:added / peer:removed   a devp2p peer came or went (from the client's debug log)
//   error       something went wrong (message); exit follows
//   exit        the client exited (code, signal); this process exits with the same code
// The client's own log goes to stderr, or to --log FILE.
//
// Usage: node run.mjs --port 30330 --rpc-port 18545 --datadir DIR
//                     [--genesis genesis.json] [--key signer.key] [--log FILE]
//                     [--log-level debug|info] [--poll-ms 500]
// It runs until SIGTERM or SIGINT, which it passes on to the client. If its own parent dies, it
// stops the client and exits, so a killed test leaves nothing behind.

import { spawn } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const started = Date.now()

function emit(event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ t: Date.now() - started, event, ...fields })}\n`)
}

function usage(message) {
  process.stderr.write(
    `run.mjs: ${message}\nusage: node run.mjs --port N --rpc-port N --datadir DIR ` +
      '[--genesis FILE] [--key FILE] [--log FILE] [--log-level debug|info] [--poll-ms MS]\n',
  )
  process.exit(2)
}

function parseArgs(argv) {
  const opts = {
    genesis: resolve(here, 'genesis.json'),
    key: resolve(here, 'signer.key'),
    logLevel: 'debug',
    pollMs: 500,
  }
  const names = {
    '--port': 'port',
    '--rpc-port': 'rpcPort',
    '--datadir': 'datadir',
    '--genesis': 'genesis',
    '--key': 'key',
    '--log': 'log',
    '--log-level': 'logLevel',
    '--poll-ms': 'pollMs',
  }
  for (let i = 0; i < argv.length; i += 2) {
    const name = names[argv[i]]
    if (name === undefined) usage(`unknown option ${argv[i]}`)
    if (argv[i + 1] === undefined) usage(`${argv[i]} needs a value`)
    opts[name] = argv[i + 1]
  }
  for (const name of ['port', 'rpcPort', 'pollMs']) {
    const n = Number(opts[name])
    if (!Number.isInteger(n) || n <= 0 || n > 65535 * 1000) usage(`bad --${name}: ${opts[name]}`)
    opts[name] = n
  }
  if (opts.datadir === undefined) usage('--datadir is required')
  for (const name of ['genesis', 'key', 'datadir']) opts[name] = resolve(opts[name])
  if (!existsSync(opts.genesis)) usage(`no genesis file ${opts.genesis}`)
  if (!existsSync(opts.key)) usage(`no key file ${opts.key}`)
  return opts
}

const opts = parseArgs(process.argv.slice(2))
const cli = resolve(here, 'node_modules/@ethereumjs/client/dist/esm/bin/cli.js')
if (!existsSync(cli)) usage('the client is not installed: run `npm ci` in tests/clique')
mkdirSync(opts.datadir, { recursive: true })
emit('config', { ...opts, cli })

// The client's flags: start from our genesis file (the chain is named after its base name),
// seal with the committed test key, mine without waiting for peers, and stay on loopback.
const args = [
  cli,
  '--gethGenesis', opts.genesis,
  '--unlock', opts.key,
  '--mine',
  '--isSingleNode',
  '--port', String(opts.port),
  '--extIP', '127.0.0.1',
  '--dataDir', opts.datadir,
  '--discDns=false',
  '--discV4=false',
  '--no-logFile',
  '--logLevel', opts.logLevel,
  '--rpc',
  '--rpcAddr', '127.0.0.1',
  '--rpcPort', String(opts.rpcPort),
]
const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
const logSink = opts.log === undefined ? process.stderr : createWriteStream(opts.log)

let enode
let genesisHash
let stopping = false

// Client log lines: copied to the log sink, and a few of them turned into events.
function onLogLine(raw) {
  logSink.write(`${raw}\n`)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI colour codes
  const line = raw.replace(/\x1b\[[0-9;]*m/g, '')
  const url = line.match(/Server listener up transport=rlpx url=(enode:\/\/\S+)/)
  if (url !== null && enode === undefined) {
    enode = url[1]
    emit('enode', { enode })
    maybeReady()
  }
  const added = line.match(/Peer added: (.*)$/)
  if (added !== null) emit('peer:added', { peer: added[1].trim() })
  const removed = line.match(/Peer removed: (.*)$/)
  if (removed !== null) emit('peer:removed', { peer: removed[1].trim() })
}

function lines(stream) {
  let buf = ''
  stream.setEncoding('utf8')
  stream.on('data', (chunk) => {
    buf += chunk
    let nl = buf.indexOf('\n')
    while (nl >= 0) {
      onLogLine(buf.slice(0, nl))
      buf = buf.slice(nl + 1)
      nl = buf.indexOf('\n')
    }
  })
}
lines(child.stdout)
lines(child.stderr)

async function rpc(method, params) {
  const res = await fetch(`http://127.0.0.1:${opts.rpcPort}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  })
  const body = await res.json()
  if (body.error !== undefined) throw new Error(`${method}: ${JSON.stringify(body.error)}`)
  return body.result
}

function maybeReady() {
  if (enode !== undefined && genesisHash !== undefined) {
    emit('ready', { enode, genesisHash, rpc: `http://127.0.0.1:${opts.rpcPort}` })
  }
}

// Polls the RPC server: first for the genesis block, then for head changes.
let lastHead
async function poll() {
  if (stopping) return
  try {
    if (genesisHash === undefined) {
      const g = await rpc('eth_getBlockByNumber', ['0x0', false])
      genesisHash = g.hash
      emit('genesis', {
        hash: g.hash,
        stateRoot: g.stateRoot,
        extraData: g.extraData,
        difficulty: g.difficulty,
        gasLimit: g.gasLimit,
        baseFeePerGas: g.baseFeePerGas,
        timestamp: g.timestamp,
      })
      maybeReady()
    }
    const head = await rpc('eth_getBlockByNumber', ['latest', false])
    if (head.hash !== lastHead) {
      lastHead = head.hash
      emit('head', {
        number: Number.parseInt(head.number, 16),
        hash: head.hash,
        td: head.totalDifficulty === undefined ? null : BigInt(head.totalDifficulty).toString(),
      })
    }
  } catch {
    // The RPC server is not up yet (or is going down): try again on the next tick.
  }
  setTimeout(poll, opts.pollMs)
}
setTimeout(poll, opts.pollMs)

function stop(signal) {
  if (stopping) return
  stopping = true
  child.kill(signal)
  // The client closes its databases on SIGTERM/SIGINT; give it 2 s (its
  // shutdown can hang on open RPC connections), then force it: the datadir is throwaway.
  setTimeout(() => child.kill('SIGKILL'), 2000).unref()
}
process.on('SIGTERM', () => stop('SIGTERM'))
process.on('SIGINT', () => stop('SIGINT'))

// When the parent dies without signalling us (a test killed hard), we are re-parented: stop.
const parent = process.ppid
setInterval(() => {
  if (process.ppid !== parent) stop('SIGTERM')
}, 500).unref()

child.on('error', (e) => {
  emit('error', { message: e.message })
  process.exit(1)
})
child.on('exit', (code, signal) => {
  emit('exit', { code, signal })
  process.exit(code ?? (stopping ? 0 : 1))
})
