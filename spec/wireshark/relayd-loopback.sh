#!/bin/bash
# How spec/wireshark/relayd-loopback.pcapng was captured (as root, Debian bookworm lttng-tools 2.13.9):
#   flock /tmp/ustref-sessiond.lock spec/wireshark/relayd-loopback.sh
# A streaming session with no application: the session daemon talks to the relay daemon.
set -u
mkdir -p "${OUT:-/tmp/relayd-loopback}" && cd "${OUT:-/tmp/relayd-loopback}"
export LTTNG_HOME=${OUT:-/tmp/relayd-loopback}/home
mkdir -p home
tshark -q -i lo -f 'tcp port 5342 or tcp port 5343 or tcp port 5344' -w ${OUT:-/tmp/relayd-loopback}/live.pcapng > tshark.log 2>&1 &
TP=$!
sleep 2
lttng-relayd -o ${OUT:-/tmp/relayd-loopback}/relayd-out > relayd.log 2>&1 &
RP=$!
lttng-sessiond --no-kernel > sessiond.log 2>&1 &
SP=$!
sleep 3
lttng create s --set-url=net://127.0.0.1 > lttng.log 2>&1
lttng enable-event -u -a >> lttng.log 2>&1
lttng start >> lttng.log 2>&1
sleep 1
lttng stop >> lttng.log 2>&1
lttng destroy >> lttng.log 2>&1
sleep 1
kill $SP; sleep 2; kill $RP; sleep 1; kill -INT $TP; wait $TP
kill -9 $SP $RP 2>/dev/null
echo finished
