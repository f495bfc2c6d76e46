#!/bin/sh
# tests/io/expect_status.sh WANT CMD...: run CMD; succeed only if it exits WANT.
want=$1
shift
"$@"
rc=$?
echo "exit status $rc (expected $want)"
[ "$rc" -eq "$want" ]
