#!/usr/bin/env bash
# Usage: dispatch_symbols.sh <arch: sse2 | sse4_2 | fma3_avx2 | avx512bw> <entries object file>
#
# Passes when every function the object defines with external linkage carries its arch in its
# name: hinge's instruction-set namespace (hinge::kernels::isa_sse2, ...), or an xsimd arch type
# among its template arguments (the dispatch entries, xsimd's own kernels, activations
# instantiated on batch<float, Arch>). A function named without the arch (an inline function or
# template instantiated on arch-neutral types and not inlined) would share its name with a copy
# compiled for another instruction set, and the linker would keep one of them for every arch:
# SIGILL on a CPU without the instructions of the copy it kept.
set -euo pipefail
arch=${1:?usage: dispatch_symbols.sh <arch> <object file>}
object=${2:?usage: dispatch_symbols.sh <arch> <object file>}
case "$arch" in
    sse2) markers='isa_sse2|xsimd::sse2' ;;
    sse4_2) markers='isa_sse4_2|xsimd::sse4_2' ;;
    fma3_avx2) markers='isa_fma3_avx2|xsimd::fma3<xsimd::avx2>' ;;
    avx512bw) markers='isa_avx512bw|xsimd::avx512bw' ;;
    *) echo "dispatch_symbols: unknown arch '$arch'" >&2; exit 2 ;;
esac
nm_tool=${NM:-nm}
# Defined symbols of kinds T (global text), W (weak text), i (indirect function), u (unique global).
functions=$("$nm_tool" -C --defined-only "$object" | awk '$2 ~ /^[TWiu]$/ { $1 = ""; $2 = ""; sub(/^  /, ""); print }')
entries=$(printf '%s\n' "$functions" | grep -c '^hinge::dispatched_[a-z_]*_entry<' || true)
# __clang_call_terminate: clang's two-call helper (begin_catch, terminate), the same in every object.
# A name ending in ")::variable" is a static variable of an inline function (kind u), data and not
# code: the same bytes for every arch (e.g. libstdc++'s pool of futex waiters behind
# std::atomic::wait, which a thread team's hand-off uses).
# libstdc++'s futex wait (std::__detail::__waiter..., behind std::atomic::wait in the thread
# team's blocking hand-off): clang 19 emits it out of line even under flatten. It is arch-neutral
# library code on a system-call path, and hinge_add_dispatch links the baseline object first, so
# the copy the linker keeps is one that every CPU runs.
leaked=$(printf '%s\n' "$functions" | grep -Ev "(${markers})([^_a-z0-9]|$)" | grep -v '^__clang_call_terminate$' |
    grep -Ev '\)( const)?::[A-Za-z_][A-Za-z_0-9]*$' | grep -Ev '^(bool|void) std::__detail::__waiter' |
    grep -v '^$' || true)
if [ "$entries" -eq 0 ]; then
    echo "dispatch_symbols: $object defines no dispatch entry" >&2
    exit 1
fi
if [ -n "$leaked" ]; then
    echo "dispatch_symbols: $object ($arch) defines functions whose names do not say $arch:" >&2
    printf '%s\n' "$leaked" | cut -c1-300 >&2
    exit 1
fi
echo "dispatch_symbols: $object ($arch): $entries entry points; all $(printf '%s\n' "$functions" | grep -c .) external symbols are named for $arch (or are the exceptions above)"
