# Runs one compile-fail check (see tests/CMakeLists.txt).
#   cmake -DMODE=twin|fails -DSOURCE=<file.cpp> -DFLAGS_FILE=<generated> [-DPCH=<header>] -P hinge_compile_check.cmake
#   cmake -DMODE=pch -DSOURCE=<header> -DOUTPUT_FILE=<pch> -DFLAGS_FILE=<generated> -P hinge_compile_check.cmake
# pch  : precompiles SOURCE (a header including <hinge/hinge.hpp>) with the checks' own flags.
#        Each check then starts from it (-include HEADER for g++, which finds HEADER.gch beside
#        it; -include-pch for clang): 0.2 s instead of 1.5 s, nearly all of which was parsing
#        the umbrella header. The test files' own #include <hinge/hinge.hpp> is then a no-op
#        (#pragma once), and the diagnostics are the same but for one "included from" line.
# twin : compiles SOURCE with -fsyntax-only; exit code = success/failure.
# fails: compiles SOURCE with -fsyntax-only -DHINGE_EXPECT_FAIL and prints the
#        diagnostics; ctest judges them with PASS_REGULAR_EXPRESSION. If the file
#        compiles anyway, a sentinel matched by FAIL_REGULAR_EXPRESSION is printed
#        (and the compiler output is NOT, so it cannot match the expected regex).
#        Also, in fails mode:
#        - the diagnostics are written to OUTPUT_FILE when given (the README check reads them);
#        - more than MAX_LINES lines of diagnostics print HINGE_COMPILE_FAIL_TOO_MANY_LINES
#          (one mistake must be one short error, not a cascade);
#        - each `// expect-error-line: <regex>` of SOURCE is an alternative that must match one
#          single line containing "error:" (the facts belong on the error line, not in a note);
#          if none does, HINGE_COMPILE_FAIL_FACTS_NOT_ON_ERROR_LINE is printed.
#        ctest fails the test on either sentinel (FAIL_REGULAR_EXPRESSION).
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
if(MODE STREQUAL "pch")
  execute_process(COMMAND ${_cmd} -x c++-header ${SOURCE} -o ${OUTPUT_FILE} RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "hinge_compile_check.cmake: precompiling ${SOURCE} failed (exit code ${_rc})")
  endif()
  return()
endif()
# Without the precompiled header (a build that did not make the compile_fail_pch target), the
# check parses the umbrella header itself: slower, the same diagnostics, for both compilers alike
# (clang's -include-pch would fail on a missing file where g++ falls back to the header).
set(_pch "")
if(DEFINED PCH)
  set(_pch "${PCH}")
  if(HINGE_CF_COMPILER_ID MATCHES "Clang" AND NOT EXISTS "${PCH}.pch")
    set(_pch "")
  endif()
endif()
if(_pch)
  if(HINGE_CF_COMPILER_ID MATCHES "Clang")
    list(APPEND _cmd -include-pch ${_pch}.pch)
  else()
    # -Winvalid-pch: a header that cannot be used (other flags) is an error under -Werror, not
    # a silent fall-back to parsing everything.
    list(APPEND _cmd -Winvalid-pch -include ${_pch})
  endif()
endif()
list(APPEND _cmd -fsyntax-only)
if(MODE STREQUAL "fails")
  list(APPEND _cmd ${HINGE_CF_NO_CARET} -DHINGE_EXPECT_FAIL)
elseif(NOT MODE STREQUAL "twin")
  message(FATAL_ERROR "hinge_compile_check.cmake: MODE must be twin, fails or pch, not '${MODE}'")
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
  if(DEFINED OUTPUT_FILE)
    file(WRITE "${OUTPUT_FILE}" "${_out}")
  endif()
  string(REGEX REPLACE "\n$" "" _trimmed "${_out}")
  string(REPLACE ";" "\\;" _escaped "${_trimmed}")
  string(REPLACE "\n" ";" _lines "${_escaped}")
  list(LENGTH _lines _line_count)
  if(DEFINED MAX_LINES AND _line_count GREATER MAX_LINES)
    message("HINGE_COMPILE_FAIL_TOO_MANY_LINES: ${_line_count} lines of diagnostics, at most ${MAX_LINES} allowed")
  endif()
  file(STRINGS ${SOURCE} _line_expect REGEX "^[ \t]*//[ \t]*expect-error-line:")
  if(_line_expect)
    set(_found OFF)
    foreach(_e IN LISTS _line_expect)
      string(REGEX REPLACE "^[ \t]*//[ \t]*expect-error-line:[ \t]*" "" _re "${_e}")
      string(STRIP "${_re}" _re)
      foreach(_l IN LISTS _lines)
        if(_l MATCHES "error:" AND _l MATCHES "${_re}")
          set(_found ON)
        endif()
      endforeach()
    endforeach()
    if(NOT _found)
      message("HINGE_COMPILE_FAIL_FACTS_NOT_ON_ERROR_LINE: no line with error: matches an expect-error-line regex")
    endif()
  endif()
  # Otherwise print nothing but the compiler's diagnostics: any text of ours could
  # accidentally match the expected regex.
  message("${_out}")
endif()
