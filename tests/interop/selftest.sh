#!/bin/sh
# Runs two copies of the harness against each other without our node: one serves the fixture
# chain (listen --serve-chain), the other fetches from it (dial --actions) and checks every reply.
# Usage: ./selftest.sh [port]   (after `npm ci`; logs in $TMPDIR/ejs-selftest-*.log)
set -eu
cd "$(dirname "$0")"
port=${1:-40499}
tmp=${TMPDIR:-/tmp}
listen_log=$tmp/ejs-selftest-listen.log
dial_log=$tmp/ejs-selftest-dial.log
key=1111111111111111111111111111111111111111111111111111111111111111

node peer.mjs listen --port "$port" --key "$key" --caps eth/68 --serve-chain --exit-after 20000 >"$listen_log" &
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
' "$dial_log"
