# Sourced by the scripts that run Python tools: `pinned_venv DIR REQUIREMENTS` makes (or remakes) the virtual
# environment DIR with exactly the pinned REQUIREMENTS, and does nothing when DIR already holds that same file.
pinned_venv() {
  local dir=$1 requirements=$2
  [ -x "$dir/bin/python" ] && cmp -s "$requirements" "$dir/requirements.txt" && return 0
  python3 -m venv "$dir" && "$dir/bin/pip" install -q -r "$requirements" && cp "$requirements" "$dir/requirements.txt"
}
