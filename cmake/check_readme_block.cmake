# cmake -DREADME=... -DMARKER=<name> -DEXPECTED=<file> [-DLINES_MATCHING=<regex>] -P check_readme_block.cmake
# Fails unless the fenced block that follows the line `<!-- readme-check: <name> -->` in README
# is exactly EXPECTED (a file a test wrote), so the README cannot go stale. With LINES_MATCHING,
# only EXPECTED's lines matching that regex are compared, with any leading directories of the
# path before the first ':' removed (build paths differ between machines). Reusable for any
# README block: give it another marker and another produced file.
file(READ "${README}" readme)
string(FIND "${readme}" "<!-- readme-check: ${MARKER} -->\n" at)
if(at EQUAL -1)
  message(FATAL_ERROR "no '<!-- readme-check: ${MARKER} -->' line in ${README}")
endif()
string(SUBSTRING "${readme}" ${at} -1 rest)
string(FIND "${rest}" "```\n" open)
math(EXPR open "${open} + 4")
string(SUBSTRING "${rest}" ${open} -1 rest)
string(FIND "${rest}" "```" close)
string(SUBSTRING "${rest}" 0 ${close} block)
if(NOT EXISTS "${EXPECTED}")
  message(FATAL_ERROR "${EXPECTED} does not exist: run the test that writes it first")
endif()
file(READ "${EXPECTED}" produced)
if(DEFINED LINES_MATCHING)
  string(REPLACE ";" "\\;" produced "${produced}")
  string(REPLACE "\n" ";" lines "${produced}")
  set(produced "")
  foreach(l IN LISTS lines)
    if(l MATCHES "${LINES_MATCHING}")
      string(REGEX REPLACE "^[^:]*/([^/:]+:)" "\\1" l "${l}")
      string(APPEND produced "${l}\n")
    endif()
  endforeach()
endif()
if(NOT block STREQUAL produced)
  message(FATAL_ERROR "the README block after '<!-- readme-check: ${MARKER} -->' differs from ${EXPECTED}; "
                      "it should be:\n${produced}")
endif()
message(STATUS "README block '${MARKER}' matches ${EXPECTED}")
