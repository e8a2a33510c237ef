#!/bin/sh
# The layer rule (docs/design.md): a folder of src/ includes headers only
# from folders below it.  Prints the include graph between folders, and
# every include that points up; fails if there is one.
cd "$(dirname "$0")/.." || exit 2
order="os arch core io sync stream net proc tls http ws pg redis testing"
rank() {
    i=0
    for l in $order; do
        [ "$l" = "$1" ] && { echo $i; return; }
        i=$((i + 1))
    done
    echo 99
}
bad=0
for dir in $order; do
    [ -d "src/$dir" ] || continue
    r=$(rank "$dir")
    uses=""
    for f in src/"$dir"/*.c src/"$dir"/*.h; do
        [ -e "$f" ] || continue
        for inc in $(sed -n 's/^#include "\([a-z0-9_]*\)\/.*/\1/p' "$f" | sort -u); do
            [ "$inc" = "$dir" ] && continue
            case " $uses " in *" $inc "*) ;; *) uses="$uses $inc" ;; esac
            if [ "$(rank "$inc")" -ge "$r" ]; then
                echo "layer violation: $f includes $inc/ (above or beside $dir/)" >&2
                bad=1
            fi
        done
    done
    printf '%-7s ->%s\n' "$dir" "$uses"
done
exit $bad
