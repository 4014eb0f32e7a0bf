#!/usr/bin/env bash
# Builds etcd, kube-apiserver and kubectl from the versions pinned in e2e/go.mod into the
# directory given as the first argument. The Makefile runs this only when those versions
# differ from the ones recorded in the directory's stamp file or a binary is missing.
set -euo pipefail

if [[ $# -ne 1 ]]; then
	echo "usage: $0 OUTPUT_DIR" >&2
	exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
cd "$(dirname "$0")"

packages=(go.etcd.io/etcd/server/v3 k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)

# Without these, kube-apiserver and kubectl report v0.0.0-master, and clients that pick
# behaviour by server version (kubectl version skew warnings, for one) misread it.
k8s_version=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
k8s_minor=$(cut -d. -f2 <<<"$k8s_version")
version_package=k8s.io/component-base/version
ldflags="-X $version_package.gitVersion=$k8s_version -X $version_package.gitMajor=1"
ldflags+=" -X $version_package.gitMinor=$k8s_minor -X $version_package.gitTreeState=clean"

start=$SECONDS
echo "e2e tools: downloading Go modules for ${packages[*]} (needed once per machine)"
go mod download

total=$(go list -deps "${packages[@]}" | wc -l)
cat <<EOF
e2e tools: building etcd, kube-apiserver $k8s_version and kubectl ($total packages).
  With empty Go caches this took 4 to 5 minutes on an otherwise idle 2-core machine, and
  takes longer while other builds share the cores. With a warm cache it takes under a minute.
EOF

# report_progress reads go build -v output, which is one import path per compiled package,
# prints a progress line every 100 packages and passes anything else (compiler errors)
# through unchanged.
report_progress() {
	local line compiled=0 elapsed
	while IFS= read -r line; do
		if [[ ! $line =~ ^[A-Za-z0-9._~/-]+$ ]]; then
			printf '%s\n' "$line"
			continue
		fi
		compiled=$((compiled + 1))
		if ((compiled % 100 == 0)); then
			elapsed=$((SECONDS - start))
			printf '  compiled %d of at most %d packages (%dm%02ds)\n' \
				"$compiled" "$total" $((elapsed / 60)) $((elapsed % 60))
		fi
	done
}

staging="$out/.staging"
rm -rf "$staging"
mkdir -p "$staging"
go build -v -ldflags "$ldflags" -o "$staging/" "${packages[@]}" 2>&1 | report_progress

mv "$staging/server" "$out/etcd"
mv "$staging/kube-apiserver" "$staging/kubectl" "$out/"
rmdir "$staging"
elapsed=$((SECONDS - start))
printf 'e2e tools: built into %s in %dm%02ds\n' "$out" $((elapsed / 60)) $((elapsed % 60))
