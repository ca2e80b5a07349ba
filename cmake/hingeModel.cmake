# hinge_add_model(<target> MODEL <file> TYPE <name>
#                 [NAMESPACE <ns>] [EMBED source|header] [INPUT_SHAPE <d>...] [FOLD_BATCH_NORM]
#                 [DTYPE float32|float64] [STATE_DICT <file>] [PYTHON_PATH <dir>...] [DEPENDS <file>...]
#                 [OUTPUT_DIR <dir>])
#
# Runs hinge's exporter (python3 -m hinge_export, installed with the package) at build time, and
# again whenever MODEL (or STATE_DICT, DEPENDS, the exporter itself) changes, so that the C++ type
# is always the one the weights came from. It writes into OUTPUT_DIR (default
# ${CMAKE_CURRENT_BINARY_DIR}/hinge_models):
#
#   <TYPE>.hpp           using <TYPE> = hinge::network<...>; checked against hinge at compile time
#   <TYPE>.safetensors   the weights, named as io::tensor_table says, with the architecture in the
#                        metadata (hinge::io::load_safetensors checks it)
#   <TYPE>.cpp           EMBED source: the parameters compiled in, <TYPE>_parameters (extern in the
#                        header); EMBED header puts them into the header instead (every file that
#                        includes it parses them: fine for small models)
#
# and adds them to <target>: the folder to its include directories, the .cpp to its sources.
# <target> must link hinge::hinge (the generated files include hinge's headers).
# After the call, HINGE_MODEL_<TYPE>_HEADER and HINGE_MODEL_<TYPE>_WEIGHTS hold the paths.
#
# MODEL may be
#   model.pt / model.pth      an nn.Module saved with torch.save(model, path)
#   file.py:function          a function returning the nn.Module (STATE_DICT: trained weights for it)
#   package.module:function   the same, importable from PYTHON_PATH
#   model.safetensors         a file written by hinge or hinge_export (its metadata names the architecture)
#   model.hinge               a file in hinge's own format
# INPUT_SHAPE is one sample in PyTorch's order without the batch (1 28 28; 256 1 for a sequence of
# 256 steps into a batch_first GRU or LSTM), needed unless the model starts with nn.Linear. FOLD_BATCH_NORM folds every BatchNorm directly after a Linear or Conv into
# it (inference only). The PyTorch inputs need a Python 3 that imports torch (Debian: python3-torch);
# the file inputs need only Python 3. HINGE_EXPORT_PYTHON chooses the interpreter (default: the first
# of Python3_EXECUTABLE and /usr/bin/python3 that can do the job).
#
# The custom command belongs to the directory of the call: call it where <target> is defined, once
# per model.

# Where the hinge_export package lives: the installed share/hinge/python (hingeConfig.cmake sets the
# property), or python/ next to this file in a source tree.
get_property(_hinge_export_path_set GLOBAL PROPERTY HINGE_EXPORT_PYTHONPATH SET)
if(NOT _hinge_export_path_set)
  get_filename_component(_hinge_export_dir "${CMAKE_CURRENT_LIST_DIR}/../python" ABSOLUTE)
  set_property(GLOBAL PROPERTY HINGE_EXPORT_PYTHONPATH "${_hinge_export_dir}")
  unset(_hinge_export_dir)
endif()
unset(_hinge_export_path_set)

set(HINGE_EXPORT_PYTHON "" CACHE FILEPATH
    "Python 3 that runs hinge_export for hinge_add_model() (with PyTorch for .pt models); empty: search")

# hinge_export_python(<out var> [TORCH]): a Python 3 that can run the exporter (TORCH: on PyTorch
# models, i.e. it imports torch and numpy), or "" when there is none; found once per build tree.
# For a project that builds a PyTorch model only where it can (examples/from_pytorch does).
function(hinge_export_python out)
  set(needs_torch OFF)
  if(ARGN STREQUAL "TORCH")
    set(needs_torch ON)
  elseif(ARGN)
    message(FATAL_ERROR "hinge_export_python(${out} ${ARGN}): the only option is TORCH")
  endif()
  if(needs_torch)
    set(cache_name _HINGE_EXPORT_PYTHON_WITH_TORCH)
    set(probe "import sys; assert sys.version_info >= (3, 8); import torch, numpy")
  else()
    set(cache_name _HINGE_EXPORT_PYTHON_PLAIN)
    set(probe "import sys; assert sys.version_info >= (3, 8)")
  endif()
  if(${cache_name} AND (NOT HINGE_EXPORT_PYTHON OR ${cache_name} STREQUAL HINGE_EXPORT_PYTHON))
    set(${out} "${${cache_name}}" PARENT_SCOPE)
    return()
  endif()
  set(candidates "")
  if(HINGE_EXPORT_PYTHON)
    list(APPEND candidates "${HINGE_EXPORT_PYTHON}")
  else()
    find_package(Python3 COMPONENTS Interpreter QUIET)
    if(Python3_EXECUTABLE)
      list(APPEND candidates "${Python3_EXECUTABLE}")
    endif()
    list(APPEND candidates /usr/bin/python3)
  endif()
  foreach(candidate IN LISTS candidates)
    if(EXISTS "${candidate}")
      execute_process(COMMAND "${candidate}" -c "${probe}" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
      if(rc EQUAL 0)
        set(${cache_name} "${candidate}" CACHE INTERNAL "")
        set(${out} "${candidate}" PARENT_SCOPE)
        return()
      endif()
    endif()
  endforeach()
  set(${out} "" PARENT_SCOPE)
endfunction()

function(hinge_add_model target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "FOLD_BATCH_NORM" "MODEL;TYPE;NAMESPACE;EMBED;DTYPE;STATE_DICT;OUTPUT_DIR"
                        "INPUT_SHAPE;PYTHON_PATH;DEPENDS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "hinge_add_model(${target}): unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "hinge_add_model(${target}): no target named ${target} (define it first)")
  endif()
  if(NOT arg_MODEL OR NOT arg_TYPE)
    message(FATAL_ERROR "hinge_add_model(${target}): give MODEL <file> and TYPE <name>")
  endif()
  if(arg_EMBED AND NOT arg_EMBED MATCHES "^(source|header)$")
    message(FATAL_ERROR "hinge_add_model(${target}): EMBED is source or header, not '${arg_EMBED}'")
  endif()
  if(NOT arg_OUTPUT_DIR)
    set(arg_OUTPUT_DIR "${CMAKE_CURRENT_BINARY_DIR}/hinge_models")
  endif()

  # MODEL: a file (relative to the current source directory) or module:function.
  set(model "${arg_MODEL}")
  set(model_file "")
  if(model MATCHES "^(.*\\.py):([A-Za-z_][A-Za-z0-9_]*)$")
    get_filename_component(model_file "${CMAKE_MATCH_1}" ABSOLUTE)
    set(model "${model_file}:${CMAKE_MATCH_2}")
  elseif(NOT model MATCHES "^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$")
    get_filename_component(model_file "${model}" ABSOLUTE)
    set(model "${model_file}")
  endif()
  set(needs_torch ON)
  if(model MATCHES "\\.(safetensors|hinge)$")
    set(needs_torch OFF)
  endif()
  if(needs_torch)
    hinge_export_python(python TORCH)
  else()
    hinge_export_python(python)
  endif()
  if(NOT python)
    if(needs_torch)
      message(FATAL_ERROR "hinge_add_model(${target} MODEL ${arg_MODEL}): converting a PyTorch model needs Python 3 "
                          "with PyTorch and numpy (Debian: apt-get install python3-torch python3-numpy), and no "
                          "interpreter found can import them; set HINGE_EXPORT_PYTHON to one that can")
    else()
      message(FATAL_ERROR "hinge_add_model(${target} MODEL ${arg_MODEL}): needs Python 3.8 or later (Debian: "
                          "python3); set HINGE_EXPORT_PYTHON")
    endif()
  endif()

  set(header "${arg_OUTPUT_DIR}/${arg_TYPE}.hpp")
  set(source "")
  set(weights "${arg_OUTPUT_DIR}/${arg_TYPE}.safetensors")
  set(outputs "${header}" "${weights}")
  set(options "${model}" -o "${header}" --type ${arg_TYPE} --weights "${weights}" --quiet)
  if(arg_NAMESPACE)
    list(APPEND options --namespace ${arg_NAMESPACE})
  endif()
  if(arg_EMBED STREQUAL "source")
    set(source "${arg_OUTPUT_DIR}/${arg_TYPE}.cpp")
    list(APPEND outputs "${source}")
    list(APPEND options --embed source --source "${source}")
  elseif(arg_EMBED STREQUAL "header")
    list(APPEND options --embed header)
  endif()
  if(arg_INPUT_SHAPE)
    string(REPLACE ";" "," shape "${arg_INPUT_SHAPE}")
    list(APPEND options --input-shape ${shape})
  endif()
  if(arg_FOLD_BATCH_NORM)
    list(APPEND options --fold-batch-norm)
  endif()
  if(arg_DTYPE)
    list(APPEND options --dtype ${arg_DTYPE})
  endif()
  set(depends "")
  if(model_file)
    list(APPEND depends "${model_file}")
  endif()
  if(arg_STATE_DICT)
    get_filename_component(state_dict "${arg_STATE_DICT}" ABSOLUTE)
    list(APPEND options --state-dict "${state_dict}")
    list(APPEND depends "${state_dict}")
  endif()
  foreach(dir IN LISTS arg_PYTHON_PATH)
    get_filename_component(dir "${dir}" ABSOLUTE)
    list(APPEND options --python-path "${dir}")
  endforeach()
  foreach(file IN LISTS arg_DEPENDS)
    get_filename_component(file "${file}" ABSOLUTE)
    list(APPEND depends "${file}")
  endforeach()

  get_property(exporter GLOBAL PROPERTY HINGE_EXPORT_PYTHONPATH)
  set(pythonpath "${exporter}")
  if(DEFINED ENV{PYTHONPATH} AND NOT "$ENV{PYTHONPATH}" STREQUAL "")
    set(pythonpath "${exporter}:$ENV{PYTHONPATH}")
  endif()
  file(GLOB exporter_sources CONFIGURE_DEPENDS "${exporter}/hinge_export/*.py")
  if(NOT exporter_sources)
    message(FATAL_ERROR "hinge_add_model(${target}): the exporter is not in ${exporter}/hinge_export")
  endif()
  add_custom_command(OUTPUT ${outputs}
    COMMAND ${CMAKE_COMMAND} -E make_directory "${arg_OUTPUT_DIR}"
    COMMAND ${CMAKE_COMMAND} -E env "PYTHONPATH=${pythonpath}" "${python}" -m hinge_export ${options}
    DEPENDS ${depends} ${exporter_sources}
    COMMENT "hinge_export: ${arg_MODEL} -> ${arg_TYPE}.hpp"
    VERBATIM)
  target_sources(${target} PRIVATE ${header} ${source})
  target_include_directories(${target} PRIVATE "${arg_OUTPUT_DIR}")
  set(HINGE_MODEL_${arg_TYPE}_HEADER "${header}" PARENT_SCOPE)
  set(HINGE_MODEL_${arg_TYPE}_WEIGHTS "${weights}" PARENT_SCOPE)
endfunction()
