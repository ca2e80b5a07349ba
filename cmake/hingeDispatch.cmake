# hinge_add_dispatch(<target> SOURCES <entries.cpp>... [ARCHS <arch>...])
#
# Compiles the entries files (each includes <hinge/runtime/dispatch_entries.hpp> and names its
# networks with HINGE_DISPATCH_INFERENCE / HINGE_DISPATCH_TRAINER) once per instruction set, with
# that set's flags, and adds the objects to <target>. The rest of <target> keeps its own flags
# (typically the x86-64 baseline) and reaches the kernels through hinge::dispatched_inference /
# hinge::dispatched_step (include/hinge/runtime/dispatch.hpp).
#
# ARCHS (default: avx512bw fma3_avx2 sse4_2 sse2, i.e. hinge::dispatch_archs) may hold:
#   avx512bw   -march=x86-64-v4   (AVX-512 F/BW/CD/DQ/VL: Skylake-SP / Zen 4 and later)
#   sse2       -march=x86-64      (every x86-64 CPU)
#   sse4_2     -march=x86-64-v2   (SSE4.2, POPCNT: Nehalem, 2008, and later)
#   fma3_avx2  -march=x86-64-v3   (AVX2, FMA: Haswell / Zen 1 and later)
# If you change the list, give the front ends the matching xsimd::arch_list as their Archs
# argument. The -march flag comes after the build's own flags, so a project built with
# -march=native still gets exactly these instruction sets in the entries objects; an entries file
# compiled for another arch than its name is a compile error (dispatch_entries.hpp checks it).
#
# Build optimised (-O1 or more, as Release does): the entry points keep each arch's code under
# names of their own by inlining everything into themselves ([[gnu::flatten]]), and at -O0
# nothing is inlined, so a -O0 build may mix arches (tests/runtime/dispatch_symbols.sh shows it).
# The objects are linked baseline first (sse2, sse4_2, fma3_avx2, avx512bw, whatever the order of
# ARCHS): where such a build defines a function in several of them, the linker keeps the first
# definition, so a -O0 program runs the oldest instruction set's copy, which every CPU has, instead
# of an AVX-512 copy that stops a CPU without AVX-512 with SIGILL (the ASan build of the tests did).
# The -O level is the build's own: forcing -O3 made an ASan+UBSan build of the test entries take
# over 3 minutes per arch.
#
# Creates one OBJECT library per arch, named <target>_dispatch_<arch>, which links hinge::hinge
# and inherits <target>'s include directories and compile definitions.
function(hinge_add_dispatch target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;ARCHS")
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "hinge_add_dispatch(${target}): give the entries files with SOURCES")
  endif()
  if(NOT arg_ARCHS)
    set(arg_ARCHS avx512bw fma3_avx2 sse4_2 sse2)
  endif()
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "hinge_add_dispatch: only g++ and clang++ flags are known (compiler: ${CMAKE_CXX_COMPILER_ID})")
  endif()
  if(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
    message(FATAL_ERROR "hinge_add_dispatch: the instruction sets it knows are x86-64's (this is ${CMAKE_SYSTEM_PROCESSOR})")
  endif()
  foreach(arch IN LISTS arg_ARCHS)
    if(arch STREQUAL "sse2")
      set(flags -march=x86-64)
    elseif(arch STREQUAL "sse4_2")
      set(flags -march=x86-64-v2)
    elseif(arch STREQUAL "fma3_avx2")
      set(flags -march=x86-64-v3)
    elseif(arch STREQUAL "avx512bw")
      set(flags -march=x86-64-v4)
    else()
      message(FATAL_ERROR "hinge_add_dispatch(${target}): unknown arch '${arch}' (known: avx512bw fma3_avx2 sse4_2 sse2)")
    endif()
    set(objects ${target}_dispatch_${arch})
    add_library(${objects} OBJECT ${arg_SOURCES})
    target_link_libraries(${objects} PRIVATE hinge::hinge)
    target_include_directories(${objects} PRIVATE $<TARGET_PROPERTY:${target},INCLUDE_DIRECTORIES>)
    target_compile_definitions(${objects} PRIVATE $<TARGET_PROPERTY:${target},COMPILE_DEFINITIONS>)
    target_compile_options(${objects} PRIVATE ${flags} -mtune=generic)
  endforeach()
  foreach(arch IN ITEMS sse2 sse4_2 fma3_avx2 avx512bw)
    if(arch IN_LIST arg_ARCHS)
      target_sources(${target} PRIVATE $<TARGET_OBJECTS:${target}_dispatch_${arch}>)
    endif()
  endforeach()
endfunction()
