# ctest's example.lv2_plugin (examples/lv2/CMakeLists.txt):
#   cmake -DBUNDLE=<built bundle> -DCHECK=<check> -DSHIM=<alloc shim> -DLV2APPLY=<lv2apply>
#         -DLV2BENCH=<lv2bench> -DWORK=<dir> -P run_test.cmake
# The built bundle with a model.nam of its own (NAM's nano WaveNet, seeded random weights) goes to
# WORK/lv2/hinge_nam.lv2; Debian's lv2apply finds it there through LV2_PATH and plays 3 s of
# plucked strings through it, with the allocation shim (alloc_shim.cpp) preloaded. check.cpp then
# judges the output against hinge::nam::player's, and the shim's counts; lilv's lv2bench then runs
# it in blocks of 512 under the shim too. Only exit statuses and the shim's report are read: what
# the hosts print is for people.
cmake_minimum_required(VERSION 3.25)
file(REMOVE_RECURSE "${WORK}")
set(bundle "${WORK}/lv2/hinge_nam.lv2")
file(MAKE_DIRECTORY "${WORK}/lv2" "${WORK}/refusal")
file(COPY "${BUNDLE}/" DESTINATION "${bundle}")

# run(<what> <command...>): fails the test, naming the step, unless the command exits with 0.
function(run what)
  message(STATUS "lv2 test: ${what}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status)
  if(NOT status STREQUAL "0")
    list(JOIN ARGN " " command)
    message(FATAL_ERROR "lv2 test: ${what}: exit status ${status}\n  command: ${command}")
  endif()
endfunction()

run("the model (NAM nano WaveNet, random weights) as the bundle's model.nam" "${CHECK}" model "${bundle}/model.nam")
run("the input (3 s, 48 kHz, float)" "${CHECK}" input "${WORK}/in.wav")

# The host <program>, with the shim preloaded and its report going to <report>.
macro(set_host program report)
  set(host ${CMAKE_COMMAND} -E env "LV2_PATH=${WORK}/lv2" "LD_PRELOAD=${SHIM}" "HINGE_LV2_SHIM_REPORT=${report}"
      "${program}")
endmacro()
set_host("${LV2APPLY}" "${WORK}/allocations.txt")
run("lv2apply, gains 0 dB, allocation shim preloaded" ${host} -i "${WORK}/in.wav" -o "${WORK}/out.wav" urn:hinge:nam)
run("no allocation inside run()" "${CHECK}" allocations "${WORK}/allocations.txt")
run("lv2apply's output against the player's" "${CHECK}" compare "${bundle}/model.nam" "${WORK}/in.wav" "${WORK}/out.wav")

# The gain controls: lv2apply sets them by port symbol.
set_host("${LV2APPLY}" "${WORK}/allocations_gains.txt")
run("lv2apply, input gain +6 dB, output gain -9.5 dB" ${host} -c input_gain 6 -c output_gain -9.5
    -i "${WORK}/in.wav" -o "${WORK}/out_gains.wav" urn:hinge:nam)
run("no allocation inside run(), with gains" "${CHECK}" allocations "${WORK}/allocations_gains.txt")
run("lv2apply's output with gains against the player's" "${CHECK}" compare "${bundle}/model.nam" "${WORK}/in.wav"
    "${WORK}/out_gains.wav" --input-gain 6 --output-gain -9.5)

# lv2apply runs one sample per run() and offers no features; lilv's lv2bench runs blocks of 512
# and offers urid:map. It exits with 0 whatever happens, so only the shim's report (run() was
# called, and allocated nothing) says that it played.
set_host("${LV2BENCH}" "${WORK}/allocations_lv2bench.txt")
run("lv2bench, blocks of 512, allocation shim preloaded" ${host} -b 512 -n 96000 urn:hinge:nam)
run("no allocation inside run(), blocks of 512" "${CHECK}" allocations "${WORK}/allocations_lv2bench.txt")

file(GLOB binary "${bundle}/*.so")
run("instantiation fails cleanly without a playable model.nam" "${CHECK}" refusal "${binary}" "${WORK}/refusal")
