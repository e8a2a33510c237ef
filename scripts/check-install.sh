#!/bin/sh
# `make install PREFIX=dir` must give include/, lib/libcorio.a,
# lib/libcorio.so with a versioned soname, lib/pkgconfig/corio.pc,
# bin/corio-fetch with its manual page and bash completion, and a program built against the installed copy through
# pkg-config must run.
set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
make --no-print-directory install PREFIX="$dir/prefix" >/dev/null
for f in include/corio.h include/corio/task.h lib/libcorio.a lib/libcorio.so \
         lib/libcorio.so.0 lib/pkgconfig/corio.pc bin/corio-fetch \
         share/man/man1/corio-fetch.1 \
         share/bash-completion/completions/corio-fetch; do
    [ -e "$dir/prefix/$f" ] || { echo "missing $f" >&2; exit 1; }
done
"$dir/prefix/bin/corio-fetch" --help >/dev/null
soname=$(objdump -p "$dir/prefix/lib/libcorio.so" | awk '/SONAME/ {print $2}')
[ "$soname" = libcorio.so.0 ] || { echo "soname is '$soname'" >&2; exit 1; }
cat > "$dir/t.c" <<'C'
#include <corio.h>
static int m(void *a) { (void)a; return corio_sleep(CORIO_MS) == 0 ? 7 : 1; }
int main(void) { return corio_run(m, NULL) == 7 ? 0 : 1; }
C
export PKG_CONFIG_PATH="$dir/prefix/lib/pkgconfig"
cc "$dir/t.c" -o "$dir/t" $(pkg-config --cflags --libs corio) -Wl,-rpath,"$dir/prefix/lib"
"$dir/t"
# Static: the private dependencies (OpenSSL, liburing, libm, pthread) come
# from pkg-config --static.
cc "$dir/t.c" -o "$dir/ts" $(pkg-config --cflags corio) "$dir/prefix/lib/libcorio.a" \
    $(pkg-config --static --libs-only-l corio | sed 's/-lcorio//')
"$dir/ts"
echo "install layout ok: $(cd "$dir/prefix" && find . -type f | sort | tr '\n' ' ')"
