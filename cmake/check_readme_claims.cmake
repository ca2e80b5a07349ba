# cmake -DROOT=<source dir> -P check_readme_claims.cmake
# Fails when README.md or docs/ drift from the code they describe:
#  1. every line of examples/own_weights_and_loss.cpp marked "// README" appears as a code span in
#     docs/training.md, whose "Your own weights and your own loss" table quotes them (the table's
#     example lines compile because that example does);
#  2. the demo facts the README states (epochs, the accuracy each demo must reach) are the
#     values in examples/ and quickstart.sh;
#  3. every file a document (README.md, docs/**/*.md) cites (`name.md`, `dir/name.hpp`, ..., and
#     bare NAME.md words, markdown links included) exists in this repository (from its root, or
#     from the citing document's folder as a relative link is read) or in the installed xsimd
#     headers, so readers have it.
# (The README's C++ example is checked by check_readme_example.cmake, its quoted compile error by
# the compile-fail tests.)
cmake_minimum_required(VERSION 3.25)  # policies (IN_LIST) for -P
set(failures "")
file(READ "${ROOT}/README.md" readme)

# Splits a file into lines in the list variable <out>; ';' is kept as @SEMI@ (a CMake list
# separator otherwise).
function(read_lines path out)
  file(READ "${path}" text)
  string(REPLACE ";" "@SEMI@" text "${text}")
  string(REPLACE "\n" ";" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# 1. The API table's example lines.
file(READ "${ROOT}/docs/training.md" training_guide)
read_lines("${ROOT}/examples/own_weights_and_loss.cpp" example_lines)
set(quoted 0)
foreach(line IN LISTS example_lines)
  if(line MATCHES "^ *(.*[^ ]) +// README$")
    string(REPLACE "@SEMI@" ";" code "${CMAKE_MATCH_1}")
    math(EXPR quoted "${quoted} + 1")
    string(FIND "${training_guide}" "`${code}`" at)
    if(at EQUAL -1)
      string(APPEND failures "  docs/training.md does not quote this line of examples/own_weights_and_loss.cpp: `${code}`\n")
    endif()
  endif()
endforeach()
if(quoted EQUAL 0)
  string(APPEND failures "  examples/own_weights_and_loss.cpp has no line marked // README\n")
endif()

# 2. Demo facts: "<what the code says>" must appear in the README as "<phrase>".
function(expect_in_readme source regex phrase_template)
  file(READ "${ROOT}/${source}" text)
  if(NOT text MATCHES "${regex}")
    set(failures "${failures}  ${source} no longer matches '${regex}' (update cmake/check_readme_claims.cmake)\n" PARENT_SCOPE)
    return()
  endif()
  string(REPLACE "@1@" "${CMAKE_MATCH_1}" phrase "${phrase_template}")
  string(FIND "${readme}" "${phrase}" at)
  if(at EQUAL -1)
    set(failures "${failures}  README.md should say '${phrase}' (from ${source})\n" PARENT_SCOPE)
  endif()
endfunction()
expect_in_readme(examples/fashion_mnist.hpp "std::size_t epochs = ([0-9]+);" "Adam, @1@ epochs")
expect_in_readme(examples/fashion_mnist_cnn.cpp "defaults.epochs = ([0-9]+);" "Adam, @1@ epochs")
expect_in_readme(quickstart.sh "run_demo fashion_mnist ([0-9]+) " "below @1@ %")
expect_in_readme(quickstart.sh "run_demo fashion_mnist_cnn ([0-9]+) " "below @1@ %")
expect_in_readme(examples/audio_effect.cpp "std::size_t epochs = ([0-9]+);" "Adam, @1@ epochs each")
expect_in_readme(quickstart.sh "--max-esr ([0-9.]+)" "ESR is above @1@")

# 3. Citations.
file(GLOB_RECURSE repository_files RELATIVE "${ROOT}" "${ROOT}/*")
list(FILTER repository_files EXCLUDE REGEX "^(build|\\.git)/")
set(names "")
foreach(f IN LISTS repository_files)
  get_filename_component(name "${f}" NAME)
  list(APPEND names "${name}")
endforeach()
file(GLOB_RECURSE documents RELATIVE "${ROOT}" "${ROOT}/docs/*.md")
# docs/history/ is dated notes: they cite files as they were when measured, some since merged away.
list(FILTER documents EXCLUDE REGEX "^docs/history/")
foreach(doc README.md ${documents})
  read_lines("${ROOT}/${doc}" lines)
  get_filename_component(doc_dir "${doc}" DIRECTORY)
  set(in_fence FALSE)
  set(n 0)
  foreach(line IN LISTS lines)
    math(EXPR n "${n} + 1")
    if(line MATCHES "^```")
      if(in_fence)
        set(in_fence FALSE)
      else()
        set(in_fence TRUE)
      endif()
      continue()
    endif()
    if(in_fence)
      continue()
    endif()
    string(REGEX MATCHALL "`[A-Za-z0-9_./-]+\\.(md|hpp|cpp|sh|py|cmake|in)`|[A-Za-z0-9_./-]+\\.md" cited "${line}")
    foreach(token IN LISTS cited)
      string(REPLACE "`" "" path "${token}")
      get_filename_component(name "${path}" NAME)
      set(found FALSE)
      foreach(base "" "docs/" "include/" "include/hinge/" "${doc_dir}/")
        if(EXISTS "${ROOT}/${base}${path}")
          set(found TRUE)
        endif()
      endforeach()
      if(NOT found AND NOT path MATCHES "/" AND name IN_LIST names)
        set(found TRUE)  # a bare file name, e.g. a header named beside its folder
      endif()
      if(NOT found AND EXISTS "${XSIMD_INCLUDE_DIR}/xsimd/${path}")
        set(found TRUE)  # xsimd's own headers (a dependency every reader installs)
      endif()
      if(NOT found)
        string(APPEND failures "  ${doc}:${n} cites ${path}, which is not in this repository\n")
      endif()
    endforeach()
  endforeach()
endforeach()

if(failures)
  message(FATAL_ERROR "README/docs drift:\n${failures}")
endif()
message(STATUS "README and docs: ${quoted} API example lines, demo facts and every cited file match the code")
