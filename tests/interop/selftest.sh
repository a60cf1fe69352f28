#!/bin/sh
# Runs copies of the harness against each other without our node: one serves the fixture chain
# (listen --serve-chain); one dialer fetches from it (dial --actions) and checks every reply; a
# second dialer sends transactions (valid, badsig, wrongchain, announced) that the listener logs,
# verifies and fetches; then the negative control of the root checks (rootcheck.mjs).
# Usage: ./selftest.sh [port]   (after `npm ci`; logs in $TMPDIR/ejs-selftest-*.log)
set -eu
cd "$(dirname "$0")"
port=${1:-40499}
tmp=${TMPDIR:-/tmp}
listen_log=$tmp/ejs-selftest-listen.log
dial_log=$tmp/ejs-selftest-dial.log
tx_log=$tmp/ejs-selftest-tx.log
key=1111111111111111111111111111111111111111111111111111111111111111

node peer.mjs listen --port "$port" --key "$key" --caps eth/68 --serve-chain --exit-after 30000 >"$listen_log" &
listener=$!
trap 'kill $listener 2>/dev/null || true' EXIT
i=0
until grep -q '"event":"listening"' "$listen_log"; do
  i=$((i + 1)); [ $i -lt 100 ] || { echo "listener did not start"; exit 1; }; sleep 0.1
done
enode=$(sed -n 's/.*"enode":"\(enode:[^"]*\)".*/\1/p' "$listen_log" | head -n1)
h100=$(node -e 'const i=JSON.parse(require("fs").readFileSync("../../fixtures/chain/chain_index.json"));process.stdout.write(i.blocks[99].hash)')

node peer.mjs dial --enode "$enode" --caps eth/68 --exit-after 5000 \
  --actions "getheaders:0:128,getheaders:$h100:10:1:1,getheaders:0:128,getbodies,getheaders:1:10,getreceipts" \
  >"$dial_log" || true

# Every reply arrived, the header runs are linked where they should be, all roots match.
node -e '
const ev = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse)
const recv = ev.filter((e) => e.event === "eth:recv")
const done = ev.find((e) => e.event === "actions:done")
const ok = [
  ["status ok", ev.some((e) => e.event === "eth:status:ok")],
  ["six replies", recv.length === 6],
  ["none unanswered", done && done.unanswered.length === 0],
  ["headers 0..127 linked", recv[0]?.count === 128 && recv[0].linked && recv[0].numbers[127] === 127],
  ["100 down by 2", JSON.stringify(recv[1]?.numbers) === JSON.stringify([100, 98, 96, 94, 92, 90, 88, 86, 84, 82])],
  ["bodies roots", recv[3]?.count === 128 && recv[3].allRootsOk],
  ["receipts roots", recv[5]?.count === 10 && recv[5].allRootsOk],
]
for (const [name, pass] of ok) console.log(`${pass ? "ok  " : "FAIL"} ${name}`)
process.exit(ok.every(([, p]) => p) ? 0 : 1)
' "$dial_log" || fail=1

# Transactions: the listener gets each batch as sent, judges valid/badsig/wrongchain like the
# library does, fetches the announced ones (type and size as announced) and knows all 13.
node peer.mjs dial --enode "$enode" --caps eth/68 --exit-after 6000 --tx-nonce 5000 \
  --actions "txs:6:valid,txs:2:badsig,txs:2:wrongchain,announce:3,wait:2000" \
  >"$tx_log" || true
kill $listener 2>/dev/null || true
wait $listener 2>/dev/null || true
node -e '
const read = (f) => require("fs").readFileSync(f, "utf8").trim().split("\n").map(JSON.parse)
const d = read(process.argv[1]), l = read(process.argv[2])
const sent = d.filter((e) => e.event === "eth:send" && e.name === "TRANSACTIONS")
const ann = d.find((e) => e.event === "eth:send" && e.name === "NEW_POOLED_TRANSACTION_HASHES")
const got = l.filter((e) => e.event === "eth:recv" && e.name === "TRANSACTIONS")
const pooled = l.filter((e) => e.event === "eth:recv" && e.name === "POOLED_TRANSACTIONS")
const known = l.filter((e) => e.event === "txs:known").pop()
const all = [...sent.flatMap((e) => e.hashes), ...(ann?.hashes ?? [])]
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b)
const ok = [
  ["three batches sent", same(sent.map((e) => [e.kind, e.count]), [["valid", 6], ["badsig", 2], ["wrongchain", 2]])],
  ["valid mixes types 0, 1, 2", same(sent[0]?.types, [0, 1, 2, 0, 1, 2])],
  ["batches arrive as sent", same(got.map((e) => e.hashes), sent.map((e) => e.hashes))],
  ["valid ones verify", got[0]?.verified.every((v) => v === true)],
  ["badsig ones do not", got[1]?.verified.every((v) => v !== true)],
  ["wrongchain ones do not", got[2]?.verified.every((v) => v !== true)],
  ["announced ones fetched", pooled.length === 1 && same(pooled[0].hashes, ann?.hashes) && pooled[0].missing.length === 0],
  ["announcedOk", pooled[0]?.announcedOk.every((v) => v === true) && pooled[0].verified.every((v) => v === true)],
  ["txs:known has all 13", known?.count === 13 && same([...known.hashes].sort(), [...all].sort())],
  ["hashes differ", new Set(all).size === 13],
]
for (const [name, pass] of ok) console.log(`${pass ? "ok  " : "FAIL"} ${name}`)
process.exit(ok.every(([, p]) => p) ? 0 : 1)
' "$tx_log" "$listen_log" || fail=1
# The root checks those "roots" lines rely on, shown to fail: a body or a receipt with one byte
# changed must make txRootOk / withdrawalsRootOk / receiptsRootOk and allRootsOk false.
if node rootcheck.mjs >"$tmp/ejs-selftest-rootcheck.log"; then
  echo "ok   root checks fail on a changed byte"
else
  echo "FAIL root checks fail on a changed byte (see $tmp/ejs-selftest-rootcheck.log)"; fail=1
fi
exit ${fail:-0}
