# lib.sh — TAP helpers for swarm's CLI tests. Source it first thing in a test script:
#     . "$(dirname "$0")/lib.sh"
# It makes a scratch directory $T (removed at exit), sets SWARM_HOME=$T/home, and defines:
#     run CMD...            run CMD; sets $out (stdout), $err (stderr), $rc (exit status)
#     ok DESC CMD...        passes when CMD exits 0
#     fails DESC RC CMD...  passes when CMD exits RC and prints one "swarm: error: " line on stderr
#     is DESC GOT WANT      passes when GOT = WANT
#     like DESC TEXT REGEX  passes when TEXT matches the extended regex
#     spawn CMD...          start CMD in the background in its own process group ($! is its PID); the
#                           whole group is killed by that PID at exit, children (git-daemon) included
#     free_port             print a TCP port on 127.0.0.1 that nothing listens on
#     wait_until SECS CMD   retry CMD every 0.1 s until it succeeds (0) or SECS pass (1)
#     done_testing          print the plan and exit non-zero if anything failed
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SWARM="$ROOT/${SWARM_BUILD:-build}/swarm"
GEN="$ROOT/${SWARM_BUILD:-build}/tools/gen"
T=$(mktemp -d "${TMPDIR:-/tmp}/swarm-test.XXXXXX")
export SWARM_HOME="$T/home"
export SOURCE_DATE_EPOCH=1700000000
unset XDG_DATA_HOME
_n=0 _failed=0 _pids=""

_cleanup() {
    for p in $_pids; do kill -9 -- "-$p" 2>/dev/null || kill -9 "$p" 2>/dev/null; done
    for p in $_pids; do wait "$p" 2>/dev/null; done
    chmod -R u+w "$T" 2>/dev/null
    rm -rf "$T"
}
trap _cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

_result() { # PASS DESC
    _n=$((_n + 1))
    if [ "$1" = 1 ]; then
        echo "ok $_n - $2"
    else
        _failed=$((_failed + 1))
        echo "not ok $_n - $2"
    fi
}

run() {
    "$@" >"$T/.out" 2>"$T/.err"
    rc=$?
    out=$(cat "$T/.out")
    err=$(cat "$T/.err")
    return 0
}

ok() {
    local desc=$1
    shift
    run "$@"
    if [ "$rc" = 0 ]; then _result 1 "$desc"; else
        _result 0 "$desc"
        echo "#   exit $rc: $*"
        printf '%s\n' "$err" | head -5 | sed 's/^/#   /'
    fi
}

fails() {
    local desc=$1 want=$2
    shift 2
    run "$@"
    local lines
    lines=$(printf '%s\n' "$err" | grep -c '^swarm: error: ')
    if [ "$rc" = "$want" ] && [ "$lines" -ge 1 ]; then _result 1 "$desc"; else
        _result 0 "$desc"
        echo "#   wanted exit $want and a 'swarm: error:' line; got exit $rc: $*"
        printf '%s\n' "$err" | head -5 | sed 's/^/#   /'
    fi
}

is() {
    if [ "$2" = "$3" ]; then _result 1 "$1"; else
        _result 0 "$1"
        echo "#   got:  '$2'"
        echo "#   want: '$3'"
    fi
}

like() {
    if printf '%s\n' "$2" | grep -Eq -- "$3"; then _result 1 "$1"; else
        _result 0 "$1"
        printf '%s\n' "$2" | head -5 | sed 's/^/#   got: /'
        echo "#   want match: $3"
    fi
}

spawn() {
    setsid "$@" &
    _pids="$_pids $!"
}

free_port() {
    local p
    while :; do
        p=$(shuf -i 20000-60000 -n 1)
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}

wait_until() {
    local secs=$1 i=0
    shift
    while [ "$i" -lt $((secs * 10)) ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

done_testing() {
    echo "1..$_n"
    [ "$_failed" = 0 ]
    exit $?
}
