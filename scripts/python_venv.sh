# Sourced by the comparison scripts (framework/*/scripts/compare_*.sh): the project's one Python environment.
#
#   ensure_venv ROOT "mod_a, mod_b" PACKAGE...
#
# Creates ROOT/.venv when missing and installs PACKAGE... from PyPI unless `import mod_a, mod_b` already works.
ensure_venv() {
    local venv="$1/.venv" imports="$2"
    shift 2
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
    fi
    if ! "$venv/bin/python" -c "import $imports" >/dev/null 2>&1; then
        "$venv/bin/pip" install --quiet "$@"
    fi
}
