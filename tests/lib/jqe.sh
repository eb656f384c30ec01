# SPDX-License-Identifier: MIT
# Shell helpers shared by the test scripts (sourced).
# jqe ARGS...: `jq -e ARGS...` that fails on empty input. jq -e passes when it reads no value at
# all, so a check fed a command's empty output would pass; with files, jq reads the files as is.
jqe() {
	local a=("$@") i=0 files=0 in
	while [ $i -lt ${#a[@]} ]; do
		case ${a[$i]} in
		--arg | --argjson | --slurpfile | --rawfile) i=$((i + 3)) ;;
		-*) i=$((i + 1)) ;;
		*) files=$((${#a[@]} - i - 1)); break ;;
		esac
	done
	if [ "$files" -gt 0 ]; then
		jq -e "$@"
		return
	fi
	in=$(cat)
	[ -n "${in//[[:space:]]/}" ] || return 1
	jq -e "$@" <<<"$in"
}
