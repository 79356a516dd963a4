#!/usr/bin/env bash
# Installs what building and testing webhook-relay needs on Debian or Ubuntu, if it is missing:
# librdkafka-dev (2.0.2 on Debian 12) and the tools the tests call (pkg-config, curl).
# Safe to run repeatedly; uses sudo when not run as root.
set -euo pipefail

packages=()
command -v pkg-config >/dev/null 2>&1 || packages+=(pkg-config)
pkg-config --exists rdkafka 2>/dev/null || packages+=(librdkafka-dev)
command -v curl >/dev/null 2>&1 || packages+=(curl)

if ((${#packages[@]} > 0)); then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "install-deps: installing ${packages[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}"
fi
