#!/usr/bin/env bash
# Checks the Helm chart and the kustomize tree: lint, render with default and example values,
# deploy/base/ferrule.yaml in sync with the chart, and every kustomization builds.
#
# Needs the kubectl/helm from scripts/install-tools.sh (other kubectl builds on a machine may
# carry an older kustomize). Runs every check even after a failure so one run shows all
# problems, and ends with an "N passed, N failed" line that CI can read.
#
# Usage: scripts/check-packaging.sh
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=env.sh
source "$REPO_ROOT/scripts/env.sh"
cd "$REPO_ROOT"

for tool in kubectl helm; do
    if [[ ! -x "$FERRULE_TOOLS_DIR/bin/$tool" ]]; then
        echo "$tool not found in $FERRULE_TOOLS_DIR/bin: run scripts/install-tools.sh" >&2
        exit 1
    fi
done

EXAMPLE_VALUES=chart/ci/example-values.yaml
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

# check NAME COMMAND...: runs COMMAND, shows its output only when it fails. COMMAND runs in an
# `if`, where bash ignores set -e, so the functions below stop on errors with `|| return 1`.
check() {
    local name="$1"
    shift
    if "$@" >"$work/out" 2>&1; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        sed 's/^/     /' "$work/out"
    fi
}

# render_to FILE HELM_ARGS...: the chart rendered as deploy/ and a helm install would.
render_to() {
    local file="$1"
    shift
    helm template ferrule chart --namespace kube-system "$@" >"$file"
}

# contains_kinds FILE KIND...: the rendered manifest holds at least one object of each kind.
contains_kinds() {
    local file="$1" kind missing=0
    shift
    for kind in "$@"; do
        grep -qx "kind: $kind" "$file" || { echo "no $kind in $file"; missing=1; }
    done
    return "$missing"
}

# The base is a rendering of the chart; a stale copy would deploy something the chart no
# longer describes.
base_in_sync() {
    scripts/render-deploy.sh - >"$work/fresh.yaml" || return 1
    diff -u deploy/base/ferrule.yaml "$work/fresh.yaml" \
        || { echo "deploy/base/ferrule.yaml is stale: run scripts/render-deploy.sh"; return 1; }
}

# kustomize does not glob, so deploy/crds must list its files in its own kustomization.yaml
# (written by ferrule-crd-gen). With no CRDs generated yet, that file is all there is.
crds_listed() {
    if [[ ! -f deploy/crds/kustomization.yaml ]]; then
        echo "deploy/crds/kustomization.yaml missing: run ferrule-crd-gen"
        return 1
    fi
    if ! compgen -G 'deploy/crds/*_*.yaml' >/dev/null; then
        echo "note: deploy/crds holds no CRDs yet"
    fi
}

# The overlay only means something once there are workloads to patch, which the default
# values do not have yet: build it over a base rendered from the example values instead.
overlay_patches_workloads() {
    local tree="$work/deploy"
    cp -r deploy "$tree" || return 1
    render_to "$tree/base/ferrule.yaml" -f "$EXAMPLE_VALUES" || return 1
    kubectl kustomize "$tree/overlays/example" >"$work/overlay.yaml" || return 1
    grep -q 'image: ghcr.io/ferrule-net/ferrule:0.1.1$' "$work/overlay.yaml" \
        || { echo "overlay did not retag the image"; return 1; }
    ! grep -q 'image: ghcr.io/ferrule-net/ferrule:ci$' "$work/overlay.yaml" \
        || { echo "overlay left an image untagged"; return 1; }
}

check "helm lint (default values)" helm lint --strict chart
check "helm lint (example values)" helm lint --strict chart -f "$EXAMPLE_VALUES"
check "helm template (default values)" render_to "$work/default.yaml"
check "helm template (example values)" render_to "$work/example.yaml" -f "$EXAMPLE_VALUES"
check "example render has every object kind" \
    contains_kinds "$work/example.yaml" Deployment DaemonSet ServiceAccount ClusterRole \
    ClusterRoleBinding Role RoleBinding
check "deploy/base/ferrule.yaml matches the chart" base_in_sync
check "deploy/crds has a kustomization" crds_listed
check "kubectl kustomize deploy/base" kubectl kustomize deploy/base
check "kubectl kustomize deploy/overlays/example" kubectl kustomize deploy/overlays/example
check "overlay retags rendered workloads" overlay_patches_workloads

echo "packaging: $passed passed, $failed failed"
((failed == 0))
