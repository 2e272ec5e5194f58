#!/bin/bash
# Runs a command and reports its peak memory, split into anonymous (heap: what a
# container's limit must hold) and file-backed (mapped index files: page cache the
# kernel reclaims under a limit), which /usr/bin/time's one "maximum resident" mixes.
#
# usage: scripts/peak-memory.sh OUT command [args...]
#   writes OUT.log (the command's output), OUT.trace (seconds, RssAnon, RssFile, VmRSS in kB,
#   every 0.5 s) and prints the peaks. To check a limit as Kubernetes enforces it, run it in a
#   cgroup with memory.limit_in_bytes set (docs/decisions.md, "The rebuild in bounded memory").
set -u
out=$1; shift
"$@" > "$out.log" 2>&1 &
pid=$!
pa=0; pf=0; pr=0
: > "$out.trace"
while kill -0 $pid 2>/dev/null; do
  if read -r a f r < <(awk '/RssAnon/{a=$2}/RssFile/{f=$2}/VmRSS/{r=$2}END{print a+0,f+0,r+0}' /proc/$pid/status 2>/dev/null); then
    [ "$a" -gt "$pa" ] && pa=$a; [ "$f" -gt "$pf" ] && pf=$f; [ "$r" -gt "$pr" ] && pr=$r
    echo "$(date +%s) $a $f $r" >> "$out.trace"
  fi
  sleep 0.5
done
wait $pid; rc=$?
echo "rc=$rc peak RssAnon=${pa}kB RssFile=${pf}kB VmRSS=${pr}kB"
exit $rc
