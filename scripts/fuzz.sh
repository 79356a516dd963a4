#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ (with AddressSanitizer) and runs each for SECONDS (default 20),
# starting from the seed corpora in Fuzz/Corpus. New interesting inputs go to a work directory
# (FUZZ_WORK, default /tmp/webhook-relay-fuzz); a crashing input is saved in fuzz-artifacts/ and
# fails the run. `make test` runs it briefly; `make fuzz` for an hour per target.
set -euo pipefail
seconds=${1:-20}
root="$(cd "$(dirname "$0")/.." && pwd)"
work=${FUZZ_WORK:-/tmp/webhook-relay-fuzz}
cd "$root/Fuzz"
swift build -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
mkdir -p "$root/fuzz-artifacts"
for target in headers senders envelope log-reader; do
    mkdir -p "$work/$target"
    echo "fuzz-$target: ${seconds}s"
    SWIFT_BACKTRACE=enable=no ".build/debug/fuzz-$target" \
        -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$root/fuzz-artifacts/$target-" \
        "$work/$target" "Corpus/$target" 2>&1 | grep -E "^(#[0-9]+ +DONE|stat::|==[0-9]+==ERROR|.*(Fatal error|Precondition failed))" || true
    # libFuzzer writes an artifact for every crash, leak or timeout it finds.
    if compgen -G "$root/fuzz-artifacts/$target-*" > /dev/null; then
        echo "fuzz-$target found a failing input: $(ls "$root/fuzz-artifacts/$target-"*)" >&2
        exit 1
    fi
done
