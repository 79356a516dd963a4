#!/usr/bin/env bash
# Installs what webhook-relay needs on Debian or Ubuntu, when it is missing, for one purpose:
#
#   install-deps.sh run    building and running the relay: librdkafka-dev (2.0.2 on Debian 12) and
#                          pkg-config, nothing else (`make run`, `make build`).
#   install-deps.sh test   the above, and what the tests call: curl, openssl, flock, nginx and
#                          HAProxy (the replica tests), chromium and chromium-driver with Python
#                          selenium (the admin console's browser test), Go with confluent-kafka-go
#                          and a JDK (the consumer examples), confluent-kafka for the Python one,
#                          the senders' own Python libraries that sign deliveries in the tests
#                          (`make test`), and Node.js, whose `node --check` reads the admin
#                          console's script (`make lint`).
#   install-deps.sh bench  the above, and valgrind and strip for the instruction counts (`make bench`).
#
# Python packages are installed from pinned requirements files. Safe to run repeatedly; uses sudo
# when not run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

purpose=${1:-test}
case "$purpose" in
    run | test | bench) ;;
    *)
        echo "usage: $0 run|test|bench" >&2
        exit 2
        ;;
esac

packages=()
command -v pkg-config >/dev/null 2>&1 || packages+=(pkg-config)
pkg-config --exists rdkafka 2>/dev/null || packages+=(librdkafka-dev)
if [ "$purpose" != run ]; then
    command -v curl >/dev/null 2>&1 || packages+=(curl)
    command -v openssl >/dev/null 2>&1 || packages+=(openssl)
    command -v flock >/dev/null 2>&1 || packages+=(util-linux)
    [ -x /usr/sbin/nginx ] || packages+=(nginx)
    [ -x /usr/sbin/haproxy ] || packages+=(haproxy)
    [ -x /usr/bin/chromium ] || packages+=(chromium)
    [ -x /usr/bin/chromedriver ] || packages+=(chromium-driver)
    command -v go >/dev/null 2>&1 || packages+=(golang-go)
    [ -d /usr/share/gocode/src/github.com/confluentinc/confluent-kafka-go ] \
        || packages+=(golang-github-confluentinc-confluent-kafka-go-dev)
    command -v javac >/dev/null 2>&1 || packages+=(default-jdk-headless)
    command -v node >/dev/null 2>&1 || packages+=(nodejs)
    command -v python3 >/dev/null 2>&1 || packages+=(python3)
    python3 -m pip --version >/dev/null 2>&1 || packages+=(python3-pip)
fi
if [ "$purpose" = bench ]; then
    command -v valgrind >/dev/null 2>&1 || packages+=(valgrind)
    command -v strip >/dev/null 2>&1 || packages+=(binutils)
fi

if [ -n "${INSTALL_DEPS_DRY_RUN:-}" ]; then
    # For the tests: say what would be installed, install nothing.
    echo "install-deps: would install ${packages[*]:-nothing}"
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
if ((${#packages[@]} > 0)); then
    echo "install-deps: installing ${packages[*]}"
    $sudo apt-get update -qq
    # RUNLEVEL=1: the packages' scripts do not start nginx or HAProxy as system services.
    $sudo env RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}"
fi

[ "$purpose" = run ] && exit 0

# Installs a pinned requirements file unless `module` already imports.
pip_install() {
    local what=$1 module=$2 requirements=$3
    python3 -c "import $module" >/dev/null 2>&1 && return 0
    echo "install-deps: installing $what"
    python3 -m pip install -q -r "$requirements" 2>/dev/null \
        || python3 -m pip install -q --break-system-packages -r "$requirements"
}

pip_install "the senders' libraries the tests sign with" \
    'standardwebhooks, svix, stripe, slack_sdk, githubkit.webhooks, hubspot.utils.signature, twilio.request_validator, Adyen.util, square.utils.webhooks_helper, paddle_billing' Tests/SenderLibraries/requirements.txt
pip_install "selenium for the admin console's browser test" selenium Tests/Console/requirements.txt
pip_install "opentelemetry-proto for the tracing tests' OTLP receiver" opentelemetry.proto Tests/Tracing/requirements.txt
pip_install "the Python consumer example's packages" confluent_kafka examples/consumers/python/requirements.txt
