#!/bin/sh
# build.sh OUTDIR: builds the independent Go verifier into OUTDIR/tlogcheck.
# Offline by construction: GOPATH mode against Debian's golang-golang-x-mod-dev
# sources in /usr/share/gocode, no module proxy, no checksum database, and the
# build cache inside OUTDIR (GOENV=off: nothing read or written under $HOME).
# Works from any cwd.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
[ -d /usr/share/gocode/src/golang.org/x/mod/sumdb/tlog ] ||
	{ echo "build.sh: install golang-go and golang-golang-x-mod-dev" >&2; exit 2; }
cd "$src"
env GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off GOSUMDB=off \
	GOTOOLCHAIN=local GOENV=off GOCACHE="$out/gocache" CGO_ENABLED=0 \
	go build -trimpath -o "$out/tlogcheck" .
