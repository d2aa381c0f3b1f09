# shellcheck shell=bash
# Source this (`source scripts/env.sh`) to use the kubectl/helm that scripts/install-tools.sh
# installed. They must come first on PATH: a machine may already carry another kubectl (an
# older one, or a cloud SDK dispatcher) whose kustomize and API versions differ from ours.
# Sourced into callers' shells, so it sets no shell options and is safe to source repeatedly.
export FERRULE_TOOLS_DIR="${FERRULE_TOOLS_DIR:-$HOME/.cache/ferrule-tools}"
case ":$PATH:" in
*":$FERRULE_TOOLS_DIR/bin:"*) ;;
*) export PATH="$FERRULE_TOOLS_DIR/bin:$PATH" ;;
esac
