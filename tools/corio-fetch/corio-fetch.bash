# bash completion for corio-fetch (installed as
# share/bash-completion/completions/corio-fetch).
_corio_fetch()
{
    local cur prev
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    case $prev in
        -i|--input|--cacert)
            COMPREPLY=($(compgen -f -- "$cur"))
            return ;;
        -o|--output|--capath)
            COMPREPLY=($(compgen -d -- "$cur"))
            return ;;
        -d|--data|--data-binary|--json-body)
            if [[ $cur == @* ]]; then
                COMPREPLY=($(compgen -f -P @ -- "${cur#@}"))
            fi
            return ;;
        -X|--request)
            COMPREPLY=($(compgen -W "GET HEAD POST PUT PATCH DELETE OPTIONS" -- "$cur"))
            return ;;
        --timeout|-z|--duration)
            COMPREPLY=($(compgen -W "500ms 1s 2s 10s 30s 1m" -- "$cur"))
            return ;;
        --rate)
            COMPREPLY=($(compgen -W "10/s 100/s 1000/s 20/min 100/h" -- "$cur"))
            return ;;
        -c|--concurrency|-n|--requests|--retries|--max-redirs|-H|--header|-A|--user-agent|--resolve|--demo|--serve-demo)
            return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "-c --concurrency --rate --timeout --retries
            -i --input -X --request -H --header -d --data --data-binary
            --json-body -A --user-agent -L --location --max-redirs
            --compressed --no-compressed --cacert --capath -k --insecure
            --resolve -o --output -O --remote-name --create-dirs --json
            -v --verbose -q --quiet -n --requests -z --duration --demo
            --serve-demo -V --version -h --help" -- "$cur"))
    fi
}
complete -F _corio_fetch corio-fetch
