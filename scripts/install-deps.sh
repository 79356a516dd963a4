#!/usr/bin/env bash
# Installs what building and testing webhook-relay needs on Debian or Ubuntu, when it is missing:
# librdkafka-dev (2.0.2 on Debian 12), the tools the tests call (pkg-config, curl, openssl, flock),
# nginx and HAProxy (the replica tests run the configurations in deploy/ in front of three relays),
# chromium and chromium-driver with Python selenium (the admin console's browser test),
# Go with confluent-kafka-go for the Go consumer example, a JDK for the Java one's checks,
# confluent-kafka for the Python one, and the senders' own Python libraries (standardwebhooks, svix,
# stripe, slack_sdk, githubkit) that sign deliveries in the tests; valgrind and strip for
# `make bench`'s instruction counts.
# Safe to run repeatedly; uses sudo when not run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
command -v pkg-config >/dev/null 2>&1 || packages+=(pkg-config)
pkg-config --exists rdkafka 2>/dev/null || packages+=(librdkafka-dev)
command -v curl >/dev/null 2>&1 || packages+=(curl)
command -v openssl >/dev/null 2>&1 || packages+=(openssl)
command -v flock >/dev/null 2>&1 || packages+=(util-linux)
[ -x /usr/sbin/nginx ] || packages+=(nginx)
[ -x /usr/sbin/haproxy ] || packages+=(haproxy)
[ -x /usr/bin/chromium ] || packages+=(chromium)
[ -x /usr/bin/chromedriver ] || packages+=(chromium-driver)
command -v go >/dev/null 2>&1 || packages+=(golang-go)
[ -d /usr/share/gocode/src/github.com/confluentinc/confluent-kafka-go ] || packages+=(golang-github-confluentinc-confluent-kafka-go-dev)
command -v javac >/dev/null 2>&1 || packages+=(default-jdk-headless)
command -v python3 >/dev/null 2>&1 || packages+=(python3)
python3 -m pip --version >/dev/null 2>&1 || packages+=(python3-pip)
command -v valgrind >/dev/null 2>&1 || packages+=(valgrind)
command -v strip >/dev/null 2>&1 || packages+=(binutils)

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
if ((${#packages[@]} > 0)); then
    echo "install-deps: installing ${packages[*]}"
    $sudo apt-get update -qq
    # RUNLEVEL=1: the packages' scripts do not start nginx or HAProxy as system services.
    $sudo env RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}"
fi

if ! python3 -c 'import standardwebhooks, svix, stripe, slack_sdk, githubkit.webhooks' >/dev/null 2>&1; then
    echo "install-deps: installing the senders' libraries the tests sign with"
    requirements=Tests/SenderLibraries/requirements.txt
    python3 -m pip install -q -r "$requirements" 2>/dev/null \
        || python3 -m pip install -q --break-system-packages -r "$requirements"
fi

if ! python3 -c 'import selenium' >/dev/null 2>&1; then
    echo "install-deps: installing selenium for the admin console's browser test"
    requirements=Tests/Console/requirements.txt
    python3 -m pip install -q -r "$requirements" 2>/dev/null \
        || python3 -m pip install -q --break-system-packages -r "$requirements"
fi

if ! python3 -c 'import confluent_kafka' >/dev/null 2>&1; then
    echo "install-deps: installing the Python consumer example's packages"
    requirements=examples/consumers/python/requirements.txt
    python3 -m pip install -q -r "$requirements" 2>/dev/null \
        || python3 -m pip install -q --break-system-packages -r "$requirements"
fi
