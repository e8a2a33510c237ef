#!/bin/sh
# corio-fetch's manual page and bash completion (ctest: fetch_doc).
#
#   usage: check_fetch_doc.sh TOOL_DIR BUILD_DIR
#
# The page renders with no warning from man --warnings (groff's checks),
# documents every option --help lists, and `cmake --install` puts the page
# under share/man/man1 and the completion under
# share/bash-completion/completions; the completion parses and completes.
set -u
dir=$1
build=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/corio-fetch-doc.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() {
    echo "FAIL: $*"
    failed=1
}

if command -v man >/dev/null 2>&1; then
    MANWIDTH=80 man --warnings -l "$dir/corio-fetch.1" >"$tmp/page" 2>"$tmp/warn" ||
        fail "man exited $?"
    [ -s "$tmp/warn" ] && fail "man --warnings: $(cat "$tmp/warn")"
    grep -q "corio-fetch *- fetch many URLs" "$tmp/page" || fail "the page did not render"
    # Every long option of --help is in the page.
    for opt in $(grep '^ *"  ' "$dir/args.c" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        grep -q -- "$opt" "$tmp/page" || fail "the page lacks $opt"
    done
else
    echo "(no man: rendering not checked)"
fi

# Installed where man and bash-completion look.
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null || fail "cmake --install"
[ -f "$tmp/prefix/share/man/man1/corio-fetch.1" ] || fail "the page was not installed"
[ -f "$tmp/prefix/share/bash-completion/completions/corio-fetch" ] ||
    fail "the completion was not installed"
[ -x "$tmp/prefix/bin/corio-fetch" ] || fail "the tool was not installed"

if command -v bash >/dev/null 2>&1; then
    bash -n "$dir/corio-fetch.bash" || fail "the completion does not parse"
    out=$(bash -c '. "$1"; COMP_WORDS=(corio-fetch --cre); COMP_CWORD=1;
        _corio_fetch; echo "${COMPREPLY[*]}"' sh "$dir/corio-fetch.bash")
    [ "$out" = "--create-dirs" ] || fail "completing --cre gave '$out'"
    out=$(bash -c '. "$1"; COMP_WORDS=(corio-fetch -X P); COMP_CWORD=2;
        _corio_fetch; echo "${COMPREPLY[*]}"' sh "$dir/corio-fetch.bash")
    [ "$out" = "POST PUT PATCH" ] || fail "completing -X P gave '$out'"
fi

[ $failed -eq 0 ] || exit 1
echo "PASS: corio-fetch manual page and completion"
