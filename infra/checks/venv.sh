# shellcheck shell=bash
# Sourced by scripts/check-template and scripts/build-lambdas: idempotent, pinned tool installs
# into git-ignored virtualenvs under .tools/ (the repository root is the working directory).
#
#   ensure_venv DIR REQUIREMENTS   create DIR if needed and install REQUIREMENTS into it, unless
#                                  that exact file was already installed there (a copy of it is
#                                  kept as DIR/.installed-requirements); never prompts. Returns
#                                  non-zero on any failure (each step checked: callers may use ||).

ensure_venv() {
    local dir="$1" req="$2" stamp="$1/.installed-requirements" start=$SECONDS
    if [[ -x "$dir/bin/python" && -f "$stamp" ]] && cmp -s "$req" "$stamp"; then
        return 0
    fi
    echo "installing the pinned packages of $req into $dir ..."
    rm -f "$stamp" || return 1
    if [[ ! -x "$dir/bin/python" ]]; then
        python3 -m venv "$dir" || return 1
    fi
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
        "$dir/bin/python" -m pip install --quiet --requirement "$req" || return 1
    cp "$req" "$stamp" || return 1
    echo "installed into $dir in $((SECONDS - start)) s"
}
