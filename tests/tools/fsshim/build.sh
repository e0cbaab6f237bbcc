#!/bin/sh
# Builds the fsshim LD_PRELOAD library: build.sh OUTDIR  ->  OUTDIR/fsshim.so
set -eu
out=${1:?usage: build.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
${CC:-gcc} -std=c11 -D_GNU_SOURCE -shared -fPIC -O2 \
	-Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wstrict-prototypes -Wmissing-prototypes \
	-o "$out/fsshim.so" "$here/fsshim.c" -ldl
