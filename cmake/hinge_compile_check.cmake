# Runs one compile-fail check (see tests/CMakeLists.txt).
#   cmake -DMODE=twin|fails -DSOURCE=<file.cpp> -DFLAGS_FILE=<generated> -P hinge_compile_check.cmake
# twin : compiles SOURCE with -fsyntax-only; exit code = success/failure.
# fails: compiles SOURCE with -fsyntax-only -DHINGE_EXPECT_FAIL and prints the
#        diagnostics; ctest judges them with PASS_REGULAR_EXPRESSION. If the file
#        compiles anyway, a sentinel matched by FAIL_REGULAR_EXPRESSION is printed
#        (and the compiler output is NOT, so it cannot match the expected regex).
cmake_minimum_required(VERSION 3.25)
foreach(_v MODE SOURCE FLAGS_FILE)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "hinge_compile_check.cmake: -D${_v}=... is required")
  endif()
endforeach()
include(${FLAGS_FILE})

set(_cmd ${HINGE_CF_CXX} ${HINGE_CF_FLAGS})
foreach(_d IN LISTS HINGE_CF_DEFINES)
  list(APPEND _cmd -D${_d})
endforeach()
foreach(_i IN LISTS HINGE_CF_INCLUDES)
  list(APPEND _cmd -I${_i})
endforeach()
list(REMOVE_DUPLICATES HINGE_CF_SYSTEM_INCLUDES)
foreach(_i IN LISTS HINGE_CF_SYSTEM_INCLUDES)
  if(NOT _i IN_LIST HINGE_CF_IMPLICIT_INCLUDES)
    list(APPEND _cmd -isystem ${_i})
  endif()
endforeach()
list(APPEND _cmd -fsyntax-only)
if(MODE STREQUAL "fails")
  list(APPEND _cmd ${HINGE_CF_NO_CARET} -DHINGE_EXPECT_FAIL)
elseif(NOT MODE STREQUAL "twin")
  message(FATAL_ERROR "hinge_compile_check.cmake: MODE must be twin or fails, not '${MODE}'")
endif()
list(APPEND _cmd ${SOURCE})
string(JOIN " " _pretty ${_cmd})

set(ENV{LC_ALL} C) # plain ASCII quotes in diagnostics, so regexes are stable
execute_process(COMMAND ${_cmd}
  RESULT_VARIABLE _rc
  OUTPUT_VARIABLE _out
  ERROR_VARIABLE _out)

if(MODE STREQUAL "twin")
  message("${_out}")
  if(NOT _rc EQUAL 0)
    message("command: ${_pretty}")
    message(FATAL_ERROR "twin of a compile-fail test must compile (exit code ${_rc})")
  endif()
else()
  if(_rc EQUAL 0)
    message("command: ${_pretty}")
    message(FATAL_ERROR
      "HINGE_COMPILE_FAIL_UNEXPECTEDLY_COMPILED: ${SOURCE} compiled with -DHINGE_EXPECT_FAIL")
  endif()
  # Print nothing but the compiler's diagnostics: any text of ours could
  # accidentally match the expected regex.
  message("${_out}")
endif()
