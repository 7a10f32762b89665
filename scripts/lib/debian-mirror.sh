# The first Debian mirror apt is configured with (deb822 or one-line format), on standard output;
# nothing (and status 1) when apt names none. Sourced by scripts/compose-test and
# scripts/docker-stand-ins, which take their packages from the machine's own mirror, never from
# a host written into the repository.
debian_mirror() {
    local uri
    uri="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
            | awk '/^URIs:/ && $2 ~ /debian\/?$/ { print $2; exit }')"
    if [[ -z "$uri" ]]; then
        uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
                | awk '$1 == "deb" && $2 ~ /debian\/?$/ { print $2; exit }')"
    fi
    [[ -n "$uri" ]] || return 1
    echo "$uri"
}
