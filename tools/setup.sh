# Sourced by the quick-start scripts: makes sure the Debian packages a step needs are present.
# As root it installs what is missing; otherwise it prints the one apt line to run and stops.
# Usage: need_packages pkg...
need_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ]; then
        echo "installing: ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "missing Debian packages; run:" >&2
        echo "  sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
}

# What every build needs (ccache is used when present).
BUILD_PACKAGES=(g++ cmake ninja-build ccache doctest-dev libfmt-dev nlohmann-json3-dev libcli11-dev
                libstb-dev libtiff-dev libpng-dev libjpeg62-turbo-dev libzip-dev pkgconf)
# The clang build and the fuzz targets (tools/test.sh --clang, tools/fuzz.sh): libFuzzer and the
# sanitizer runtimes come with clang's libclang-rt-dev, OpenMP with libomp-dev.
CLANG_PACKAGES=(clang libclang-rt-dev libomp-dev)
