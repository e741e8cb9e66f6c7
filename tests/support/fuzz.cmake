# Fuzz targets: one entry point (LLVMFuzzerTestOneInput), two builds.
#
#   sg_fuzz_target(<name> SOURCES <files...> LIBS <targets...> CORPUS <dir>
#                  [DICT <file>] [SMOKE_SECONDS <n>] [DEFINES <defs...>])
#
# In every build: <name>_fuzz_smoke, the target driven by
# tests/support/fuzz_smoke_main.cc (every seed of CORPUS, then seeded random
# mutations for SMOKE_SECONDS), registered as the ctest <name>_fuzz_smoke.
# That is what CI runs: a few seconds per target.
#
# With -DSMIMEGATE_FUZZ=ON (clang; scripts/fuzz.sh configures build-fuzz/
# that way, with ASan+UBSan and coverage instrumentation on every target):
# <name>_fuzzer, a real libFuzzer binary, and build-fuzz/fuzz/<name>.env,
# which tells scripts/fuzz.sh where the committed corpus and dictionary are.
option(SMIMEGATE_FUZZ "Build libFuzzer binaries (<name>_fuzzer); needs clang" OFF)

set(SG_FUZZ_SMOKE_MAIN ${CMAKE_CURRENT_LIST_DIR}/fuzz_smoke_main.cc)

function(sg_fuzz_target name)
  cmake_parse_arguments(F "" "CORPUS;DICT;SMOKE_SECONDS" "SOURCES;LIBS;DEFINES" ${ARGN})
  if(NOT F_CORPUS OR NOT F_SOURCES)
    message(FATAL_ERROR "sg_fuzz_target(${name}): SOURCES and CORPUS are required")
  endif()
  if(NOT F_SMOKE_SECONDS)
    set(F_SMOKE_SECONDS 2)
  endif()
  set(dict_args)
  if(F_DICT)
    set(dict_args --dict ${F_DICT})
  endif()

  if(NOT SMIMEGATE_FUZZ)
    add_executable(${name}_fuzz_smoke ${F_SOURCES} ${SG_FUZZ_SMOKE_MAIN})
    sg_target_defaults(${name}_fuzz_smoke)
    sg_expose_headers(${name}_fuzz_smoke FILES tests/support/fuzz_check.h)
    target_compile_definitions(${name}_fuzz_smoke PRIVATE ${F_DEFINES})
    target_link_libraries(${name}_fuzz_smoke PRIVATE ${F_LIBS})
    add_test(NAME ${name}_fuzz_smoke
      COMMAND ${name}_fuzz_smoke --seconds ${F_SMOKE_SECONDS} ${dict_args} ${F_CORPUS})
    set_tests_properties(${name}_fuzz_smoke PROPERTIES TIMEOUT 60 LABELS fuzz)
    return()
  endif()

  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "SMIMEGATE_FUZZ needs clang (scripts/fuzz.sh sets it up)")
  endif()
  add_executable(${name}_fuzzer ${F_SOURCES})
  sg_target_defaults(${name}_fuzzer)
  sg_expose_headers(${name}_fuzzer FILES tests/support/fuzz_check.h)
  target_compile_definitions(${name}_fuzzer PRIVATE ${F_DEFINES})
  target_link_libraries(${name}_fuzzer PRIVATE ${F_LIBS})
  target_link_options(${name}_fuzzer PRIVATE -fsanitize=fuzzer)
  file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/fuzz/${name}.env
    CONTENT "binary=$<TARGET_FILE:${name}_fuzzer>\ncorpus=${F_CORPUS}\ndict=${F_DICT}\n")
endfunction()
