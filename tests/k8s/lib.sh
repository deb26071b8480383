# lib.sh - harness shared by the deployment tests (tests/sip/test_k8s_*.sh).
#
# Sourced, never run.  On load it makes a private temp dir (removed on
# exit, after any cleanup the test registered with k8s_on_exit) and offers
# reporting (k8s_log, k8s_ok, k8s_fail, k8s_skip), the offline validator's
# npm packages (k8s_npm), and config rendering (k8s_render).
#
# Environment: KV_SRC (repository root; defaults to this file's ../..),
# KV_CACHE_DIR (/var/cache/kubevox: npm packages, base image), KV_KEEP=1
# keeps the temp dir for post-mortem.
# shellcheck shell=bash

set -u
set -o pipefail

KV_SRC=${KV_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
KV_CACHE_DIR=${KV_CACHE_DIR:-/var/cache/kubevox}
K8S_DIR=$KV_SRC/tests/k8s
K8S_TEST=$(basename "$0" .sh)
# The validator's packages, pinned: a new schema release must not change
# a test's verdict by itself.
K8S_NPM_PKGS="kubernetes-models@4.5.1 yaml@2.9.1"
K8S_NPM_DIR=$KV_CACHE_DIR/npm
K8S_EXIT_HOOKS=()

k8s_log()
{
	printf '%s: %s\n' "$K8S_TEST" "$*"
}

k8s_ok()
{
	k8s_log "ok - $*"
}

k8s_fail()
{
	printf '%s: FAIL: %s\n' "$K8S_TEST" "$*" >&2
	exit 1
}

# A skip is exit status 77, which CMake must know as SKIP_RETURN_CODE:
# never a pass.
k8s_skip()
{
	printf '%s: SKIP: %s\n' "$K8S_TEST" "$*"
	exit 77
}

k8s_pass()
{
	k8s_log "PASS"
	exit 0
}

# k8s_on_exit CMD: run CMD (a string, eval'd) when the test exits, last
# registered first, before the temp dir goes.
k8s_on_exit()
{
	K8S_EXIT_HOOKS=("$1" "${K8S_EXIT_HOOKS[@]+"${K8S_EXIT_HOOKS[@]}"}")
}

k8s_cleanup()
{
	local rc=$? h

	for h in "${K8S_EXIT_HOOKS[@]+"${K8S_EXIT_HOOKS[@]}"}"; do
		eval "$h" || true
	done
	if [ -n "${K8S_TMP:-}" ] && [ -d "$K8S_TMP" ]; then
		if [ "${KV_KEEP:-0}" = 1 ]; then
			k8s_log "kept $K8S_TMP"
		else
			rm -rf "$K8S_TMP"
		fi
	fi
	exit "$rc"
}

K8S_TMP=$(mktemp -d "${TMPDIR:-/tmp}/kvk8s.$K8S_TEST.XXXXXX") || exit 1
trap k8s_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

k8s_need_kubectl()
{
	command -v kubectl >/dev/null ||
		k8s_fail "kubectl is required (kubectl kustomize renders k8s/ offline)"
}

# k8s_npm: node and the pinned packages in K8S_NPM_DIR, installed once
# from the npm registry and reused by every later run.
k8s_npm()
{
	local want have p

	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
			k8s_fail "node and npm are required (apt-get install nodejs npm)"
		k8s_log "installing nodejs and npm"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			nodejs npm >/dev/null 2>&1 ||
			k8s_fail "node and npm are required and apt-get could not install them"
	fi
	want=""
	for p in $K8S_NPM_PKGS; do
		have=$(node -e 'try { console.log(require(process.argv[1]).version) } catch (e) {}' \
			"$K8S_NPM_DIR/node_modules/${p%@*}/package.json" 2>/dev/null)
		[ "$have" = "${p##*@}" ] || want="$want $p"
	done
	[ -z "$want" ] && return 0
	mkdir -p "$K8S_NPM_DIR" || k8s_fail "cannot create $K8S_NPM_DIR"
	k8s_log "npm install$want into $K8S_NPM_DIR"
	# shellcheck disable=SC2086
	( flock 9 && npm install --prefix "$K8S_NPM_DIR" --no-audit --no-fund \
		--loglevel=error $K8S_NPM_PKGS ) 9> "$K8S_NPM_DIR.lock" > "$K8S_TMP/npm.log" 2>&1 ||
		k8s_fail "npm install failed: $(tail -n 5 "$K8S_TMP/npm.log")"
}

# k8s_drain_timeout DIR: kubevox.conf's [general] drain_timeout in DIR
# (3600, kubevoxd's default, when unset).
k8s_drain_timeout()
{
	local f=$1/kubevox.conf v=""

	if [ -f "$f" ]; then
		v=$(awk '
			/^[ \t]*\[/ { sec = $0; gsub(/[][ \t]/, "", sec); next }
			sec == "general" && /^[ \t]*drain_timeout[ \t]*=/ {
				sub(/^[^=]*=>?[ \t]*/, ""); sub(/[ \t]*;.*$/, ""); print; exit
			}' "$f")
	fi
	printf '%s\n' "${v:-3600}"
}

# k8s_validate MANIFESTS CONFIG DRAIN_TIMEOUT: run validate.js; its output
# in $K8S_TMP/validate.out, its exit status returned.
k8s_validate()
{
	node "$K8S_DIR/validate.js" "$K8S_NPM_DIR/node_modules" "$1" "$2" "$3" \
		> "$K8S_TMP/validate.out" 2>&1
}
