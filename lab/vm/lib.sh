# The VM lab's cluster runs (two-node, three-node) share this: sourced after
# `lab`, `nodes` (their numbers, e.g. "1 2 3") and `t0` are set. It holds the
# run directory and namespace, each VM's control port (a guest command
# runner on its second serial port, see guest-node.sh), the waits, and the
# RESULT lines with their closing digest. Nothing is left behind: the EXIT
# trap kills qemu, the BMCs and the readers by the PIDs recorded here and
# deletes the namespace and the run directory.

# Milliseconds since the start of the run.
now_ms() { echo $(( (${EPOCHREALTIME/./} - ${t0/./}) / 1000 )); }
log() { printf '%8.1f s  %s\n' "$(echo "$(now_ms)" | awk '{ print $1 / 1000 }')" "$*"; }

run=$(mktemp -d "/tmp/paceline-$lab.XXXXXX")
ns="plvm$$"
readers=()
sims=()
# The PID of node N's qemu, when that process is still this run's qemu.
qemu_pid() {
    local pid
    pid=$(cat "$run/n$1/qemu.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && grep -qa "$run/n$1" "/proc/$pid/cmdline" 2>/dev/null || return 1
    echo "$pid"
}
cleanup() {
    set +e
    local pid n
    for n in $nodes; do
        pid=$(qemu_pid "$n") && kill -9 "$pid" 2>/dev/null
    done
    for pid in "${sims[@]}" "${readers[@]}"; do
        kill "$pid" 2>/dev/null
    done
    wait 2>/dev/null
    ip netns del "$ns" 2>/dev/null
    if [ -n "${PACELINE_VM_KEEP_LOGS:-}" ]; then
        mkdir -p "$PACELINE_VM_KEEP_LOGS"
        for n in $nodes; do
            cp "$run/n$n/console.log" "$PACELINE_VM_KEEP_LOGS/node$n-console.log" 2>/dev/null
            cp "$run/n$n/ctl.log" "$PACELINE_VM_KEEP_LOGS/node$n-ctl.log" 2>/dev/null
            cp "$run/n$n/sim.log" "$PACELINE_VM_KEEP_LOGS/node$n-bmc.log" 2>/dev/null
        done
    fi
    rm -rf "$run"
}
trap cleanup EXIT
trap 'echo $lab: interrupted >&2; exit 130' INT TERM

# The namespace: two links (bridges br0, br1 on 198.18.0.0/24 and
# 198.18.1.0/24) and a tap per node and link (nNlL).
make_network() {
    local n l
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    for l in 0 1; do
        ip -n "$ns" link add "br$l" type bridge
        ip -n "$ns" addr add "198.18.$l.254/24" dev "br$l"
        ip -n "$ns" link set "br$l" up
    done
    for n in $nodes; do
        for l in 0 1; do
            ip -n "$ns" tuntap add dev "n${n}l$l" mode tap
            ip -n "$ns" link set "n${n}l$l" master "br$l" up
        done
    done
}

# Node N's run directory with the guest's second disk (from $d/lab, filled
# by the caller first) and the host's end of its control port: opened
# read-write, so neither side blocks while the VM is off, and kept across
# power cycles.
make_control_port() {
    local n=$1 d="$run/n$1" fd
    mke2fs -q -t ext4 -d "$d/lab" "$d/lab.img" 128M >/dev/null
    mkfifo "$d/ctl.in" "$d/ctl.out"
    : >"$d/ctl.log"
    cat <>"$d/ctl.out" >>"$d/ctl.log" &
    readers+=($!)
    exec {fd}<>"$d/ctl.in"
    eval "ctl_fd_$n=$fd"
}

# The qemu command line of node N (without its BMC or watchdog devices,
# which the caller appends).
qemu_command() {
    local n=$1 d="$run/n$1"
    printf '%s' "qemu-system-x86_64 -name node$n -accel $accel -m 640 -smp 1 \\
    -display none -monitor none -no-reboot -pidfile $d/qemu.pid \\
    -serial file:$d/console.log -serial pipe:$d/ctl \\
    -kernel $image/vmlinuz -initrd $image/initrd.img \\
    -append \"root=/dev/vda rw console=ttyS0 quiet net.ifnames=0\" \\
    -drive file=$d/root.qcow2,if=virtio,format=qcow2 \\
    -drive file=$d/lab.img,if=virtio,format=raw,readonly=on \\
    -netdev tap,id=l0,ifname=n${n}l0,script=no,downscript=no \\
    -device virtio-net-pci,netdev=l0,mac=52:54:00:00:0$n:00 \\
    -netdev tap,id=l1,ifname=n${n}l1,script=no,downscript=no \\
    -device virtio-net-pci,netdev=l1,mac=52:54:00:00:0$n:01"
}

# Powers node N on: its qemu, in its own session and in the lab's namespace
# (where its taps are; the EXIT trap kills it by the PID in its pidfile).
power_on() {
    local n=$1 d="$run/n$1"
    rm -f "$d/qemu.pid"
    : >"$d/console.log"
    ip netns exec "$ns" setsid "$d/qemu.sh" >"$d/qemu.log" 2>&1 </dev/null &
    wait_for 20 qemu_pid "$n" >/dev/null
}

# The guest's "LAB: " lines on its console.
lab_lines() { grep -ao 'LAB: .*' "$run/n$1/console.log" 2>/dev/null | tr -d '\r' || true; }

# Runs a command in node N's guest over its control port; prints its output,
# returns its exit status (124 when no answer within the timeout, 125 at
# once when the VM is off).
guest() {
    local n=$1 timeout=$2 id fd
    shift 2
    id="$n-$RANDOM$RANDOM"
    fd="ctl_fd_$n"
    printf '%s %s\n' "$id" "$*" >&"${!fd}"
    local deadline=$((SECONDS + timeout))
    until grep -q "^END $id " "$run/n$n/ctl.log"; do
        [ "$SECONDS" -lt "$deadline" ] || return 124
        # A powered-off VM answers nothing: say so now rather than after
        # the timeout (a failed scenario left it off; the next ones fail
        # fast instead of waiting minutes each).
        qemu_pid "$n" >/dev/null || return 125
        sleep 0.3
    done
    grep -a "^OUT $id " "$run/n$n/ctl.log" | cut -d' ' -f3- || true
    return "$(awk -v id="$id" '$1 == "END" && $2 == id { print $3 }' "$run/n$n/ctl.log")"
}
# Sends a command that does not come back (a kernel hang).
guest_nowait() {
    local n=$1 fd="ctl_fd_$1"
    shift
    printf '%s %s\n' "$n-$RANDOM$RANDOM" "$*" >&"${!fd}"
}

# What failed and why, printed last (a CI log shows its tail only).
digest=""
failures=0
violations=0
result() { # scenario, ok|FAILED, detail
    echo "RESULT $1 $2${3:+ ($3)}"
    [ "$2" = ok ] || { failures=$((failures + 1)); digest+="FAILED $1: $3"$'\n'; }
}
print_digest() { [ -z "$digest" ] || printf '%s: what failed:\n%s' "$lab" "$digest"; }

# Why node N never reported ready, kept for the digest: the console's and
# the BMC's last lines.
not_ready() {
    local n=$1 why=$2 lines
    echo "$lab: node$n: $why" >&2
    lines=$( { echo "node$n: $why; its console's last lines:"
        tail -n 25 "$run/n$n/console.log" 2>/dev/null | tr -d '\r' | cut -c1-160 | sed 's/^/    /'
        if [ -e "$run/n$n/sim.log" ]; then
            echo "  its BMC's last lines:"
            tail -n 8 "$run/n$n/sim.log" 2>/dev/null | cut -c1-160 | sed 's/^/    /'
        fi; } )
    echo "$lines" >&2
    digest+="$lines"$'\n'
}

# Waits (up to $2 s) until node N's guest reports "LAB: ready".
wait_ready() {
    local n=$1 limit=$2 since=$SECONDS
    until lab_lines "$n" | tail -n 1 | grep -q '^LAB: ready$'; do
        if ! qemu_pid "$n" >/dev/null; then
            not_ready "$n" "its VM is off before it reported ready"
            return 1
        fi
        if [ $((SECONDS - since)) -gt "$limit" ]; then
            not_ready "$n" "no report within $limit s"
            return 1
        fi
        sleep 1
    done
}

# Polls a shell condition every 0.5 s for up to $1 s.
wait_for() {
    local limit=$1 since=$SECONDS
    shift
    until "$@"; do
        [ $((SECONDS - since)) -lt "$limit" ] || return 1
        sleep 0.5
    done
}

declare -A figure
json_num() { [ -n "${figure[$1]:-}" ] && echo "${figure[$1]}" || echo null; }
